"""LLM-scale benchmark: `paramstat scan / compare / extract` on synthetic Llama-shaped bf16 safetensors files.

    python scripts/bench/bench_llm.py [--sizes 0.5,1.5,3] [--tmp /tmp] [--no-compare] [--no-extract]
                                      [--profile]                      # section 'llm' of docs/BENCHMARKS.md

Per size: writes A (and B = another seed, for compare) tensor by tensor (Llama names; embed 32000 x d,
q/k/v/o d x d, gate/up 4d x d, down d x 4d, RMSNorm weights, lm_head; values: windows of a 2^24-draw
N(0, 0.02^2) pool), then per command a cold run (the files' pages evicted with
posix_fadvise(DONTNEED), no root needed) and a warm run, each a child process measured with wait4
(wall, ru_maxrss); `cat FILE > /dev/null` cold and warm in the same run as the plain-read reference.
`uptime`'s load averages are recorded beside every figure (the machine may be shared). Fits
time = a + b * params over the sizes (least squares) and projects 7B (6.74e9 params). Files are deleted.
``--profile``: cProfile of an in-process warm scan of the smallest size (top functions by own time).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _synth import bf16_bytes, safetensors_prefix  # noqa: E402

VOCAB = 32000
# name -> (hidden d, layers): 0.47B, 1.47B, 2.89B, 6.6B parameters (MLP 4d)
SIZES = {"0.5": (1024, 24), "1.5": (2048, 20), "3": (2560, 26), "7": (4096, 32)}


def shapes(d: int, layers: int) -> list[tuple[str, tuple[int, ...]]]:
    out = [("model.embed_tokens.weight", (VOCAB, d))]
    for i in range(layers):
        p = f"model.layers.{i}."
        out += [(p + "input_layernorm.weight", (d,))]
        out += [(p + f"self_attn.{k}_proj.weight", (d, d)) for k in "qkvo"]
        out += [(p + "post_attention_layernorm.weight", (d,)),
                (p + "mlp.gate_proj.weight", (4 * d, d)), (p + "mlp.up_proj.weight", (4 * d, d)),
                (p + "mlp.down_proj.weight", (d, 4 * d))]
    return out + [("model.norm.weight", (d,)), ("lm_head.weight", (VOCAB, d))]


def write(path: Path, shp, seed: int) -> int:
    """Stream a bf16 safetensors file (one tensor in memory); returns the parameter count."""
    pool = np.random.default_rng(seed).standard_normal(1 << 24, dtype=np.float32)
    with open(path, "wb") as f:
        f.write(safetensors_prefix(shp))
        for name, s in shp:
            n = int(np.prod(s))
            o = zlib.crc32(name.encode()) % pool.size
            x = np.tile(pool, -(-(n + o) // pool.size))[o:o + n] if n + o > pool.size else pool[o:o + n]
            x = (1.0 + 0.05 * x) if len(s) == 1 else x * np.float32(0.02)
            f.write(bf16_bytes(x))
    return sum(int(np.prod(s)) for _, s in shp)


def evict(*paths: Path) -> None:
    for p in paths:
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
        except OSError:
            pass
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)


def run(cmd: list[str]) -> tuple[float, float, str]:
    """(wall s, peak RSS MiB of the child, load averages 'l1/l5/l15' at start)."""
    load = "/".join(f"{v:.1f}" for v in os.getloadavg())
    # through a small trampoline process: Linux carries a forked child's ru_maxrss over from its parent's
    # RSS at fork (this script's, several hundred MB), so the measured child must be forked by a small one
    tramp = ("import os, sys, time; t = time.perf_counter(); pid = os.fork()\n"
             "if pid == 0: os.execvp(sys.argv[1], sys.argv[1:])\n"
             "_, st, ru = os.wait4(pid, 0); print(time.perf_counter() - t, ru.ru_maxrss, "
             "os.waitstatus_to_exitcode(st))")
    proc = subprocess.run([sys.executable, "-c", tramp, *cmd], capture_output=True, text=True)
    wall, rss, rc = proc.stdout.split()[-3:]
    if int(rc) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    return float(wall), int(rss) / 1024, load


def profile_scan(path: Path, top: int = 12) -> list[str]:
    import cProfile
    import pstats

    from paramstat.verdict import scan

    scan(str(path), progress=False)  # warm the page cache and numba's cache
    pr = cProfile.Profile(time.process_time)
    pr.enable()
    res = scan(str(path), progress=False)
    pr.disable()
    st = pstats.Stats(pr)
    rows = sorted(st.stats.items(), key=lambda kv: -kv[1][2])[:top]
    out = [f"cProfile (CPU time) of a warm in-process scan of {path.name} ({res.n_params / 1e9:.2f} B params, "
           f"analysis {res.timings['analysis']:.1f} s wall, {res.timings['analysis_cpu']:.1f} s CPU):", "",
           "| function | calls | own CPU s | cumulative CPU s |", "|---|---:|---:|---:|"]
    for (fn, line, name), (_cc, nc, tt, ct, _) in rows:
        out.append(f"| `{Path(fn).name}:{line}({name})` | {nc} | {tt:.2f} | {ct:.2f} |")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="0.5,1.5,3")
    ap.add_argument("--tmp", default="/tmp")
    ap.add_argument("--no-compare", action="store_true")
    ap.add_argument("--no-extract", action="store_true")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--no-doc", action="store_true")
    args = ap.parse_args()
    from _benchdoc import machine_line, update_section

    py = [sys.executable, "-m", "paramstat"]
    tmp = Path(args.tmp)
    rows, fit = [], {"scan cold": [], "scan warm": [], "compare cold": []}
    prof: list[str] = []
    t_all = time.perf_counter()
    for size in args.sizes.split(","):
        d, layers = SIZES[size]
        a, b = tmp / f"bench_llm_{size}_a.safetensors", tmp / f"bench_llm_{size}_b.safetensors"
        out = tmp / f"bench_llm_{size}.json"
        h5 = tmp / f"bench_llm_{size}.h5"
        try:
            n = write(a, shapes(d, layers), 0)
            if not args.no_compare:
                write(b, shapes(d, layers), 1)
            gib = a.stat().st_size / 2**30
            if args.profile and not prof:
                prof = profile_scan(a)

            def measure(label, cmd, files, params, cleanup=(), size=size, n=n, gib=gib):
                for state in ("cold", "warm"):
                    for c in cleanup:
                        c.unlink(missing_ok=True)
                    if state == "cold":
                        evict(*files)
                    else:
                        subprocess.run(["cat", *map(str, files)], stdout=subprocess.DEVNULL, check=True)
                    cat_wall = None
                    if state == "cold":  # the plain read from a cold cache, just before
                        t0 = time.perf_counter()
                        subprocess.run(["cat", *map(str, files)], stdout=subprocess.DEVNULL, check=True)
                        cat_wall = time.perf_counter() - t0
                        evict(*files)
                    else:
                        t0 = time.perf_counter()
                        subprocess.run(["cat", *map(str, files)], stdout=subprocess.DEVNULL, check=True)
                        cat_wall = time.perf_counter() - t0
                    wall, rss, load = run(cmd)
                    rows.append((size, n, gib * len(files), label, state, wall, params / wall, rss, cat_wall,
                                 wall / cat_wall, load))
                    key = f"{label} {state}"
                    if key in fit:
                        fit[key].append((n, wall))
                    print(rows[-1], flush=True)

            measure("scan", py + ["scan", str(a), "--no-progress", "--json", str(out), "--force"], [a], n)
            if not args.no_compare:
                measure("compare", py + ["compare", str(a), str(b), "--json", str(out), "--force", "--no-progress"],
                        [a, b], 2 * n)
            if not args.no_extract:
                measure("extract", py + ["extract", str(a), "-o", str(h5), "--force"], [a], n, cleanup=[h5])
        finally:
            for p in (a, b, out, h5):
                p.unlink(missing_ok=True)
    total = time.perf_counter() - t_all
    md = ["## llm: scan / compare / extract of synthetic Llama-shaped bf16 safetensors", "",
          f"`scripts/bench/bench_llm.py --sizes {args.sizes}` ({total:.0f} s in all). Machine: {machine_line()}; "
          "the 2 cores were shared with other jobs: the 1/5/15-min load averages at the start of each run "
          "are in the last column, and figures measured at a load above 2 are slower than on an idle machine. "
          "Each command a child process (wall, ru_maxrss); cold = the files' pages evicted "
          "(posix_fadvise DONTNEED) before the run; `cat` = `cat FILES > /dev/null` in the same state just "
          "before (the plain-read reference; compare reads 2 files). params/s counts both files for compare.",
          "", "| size | params | GiB read | command | cache | wall s | params/s | peak RSS MiB | cat s | "
          "wall / cat | load 1/5/15 |", "|---|---:|---:|---|---|---:|---:|---:|---:|---:|---|"]
    for size, n, gb, label, state, wall, rate, rss, cat, ratio, load in rows:
        md.append(f"| {size}B | {n / 1e9:.2f} B | {gb:.1f} | {label} | {state} | {wall:.1f} | {rate / 1e6:.0f} M | "
                  f"{rss:.0f} | {cat:.1f} | {ratio:.2f} | {load} |")
    proj = []
    for key, pts in fit.items():
        if len(pts) >= 2:
            x, y = np.array([p[0] for p in pts], float), np.array([p[1] for p in pts], float)
            bcoef, acoef = np.polyfit(x, y, 1)
            proj.append(f"- {key}: time = {acoef:.1f} s + {bcoef * 1e9:.1f} s per B params (least squares over "
                        f"{len(pts)} sizes) -> 7B (6.74 B params): **{acoef + bcoef * 6.74e9:.0f} s** (projection)")
    if proj:
        md += ["", "Fitted growth and the 7B projection (a projection from the measured sizes, not a 7B run):", ""]
        md += proj
    if prof:
        md += [""] + prof
    text = "\n".join(md)
    print(text)
    if not args.no_doc:
        update_section("llm", text)


if __name__ == "__main__":
    main()
