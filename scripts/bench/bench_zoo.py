"""Benchmark: `paramstat zoo scan` on Dask distributed (1 and 2 local workers) against a plain sequential
loop of `paramstat.scan` in one process, on a zoo of small checkpoints of mixed formats made here; the
scheduler's overhead per task; split mode on a >= 1B-parameter synthetic bf16 safetensors file.

The zoo (default 200 checkpoints): fresh torch.nn MLPs and CNNs of several widths (5k-400k parameters) and a
few fresh timm models (mobilenetv3_small_050, lcnet_050, resnet10t), cycling through .safetensors, .pt,
.npz and paramstat's .h5. Timing rules: every contender is warmed first (imports, numba kernels: the
in-process loop scans one checkpoint before the clock starts, each Dask worker runs paramstat.zoo.task.warm);
cluster start-up and warm-up are reported separately. Zoo runs include writing every row to DuckDB.
Scheduler overhead: (a) 2000 no-op tasks through `client.map` + gather, wall / task; (b) in the zoo runs,
(workers x wall - sum of task seconds) / checkpoints. Split mode: the big file is written tensor by tensor
(never whole in memory), scanned with `--split` on a fresh cluster of --split-workers, peak RSS per worker
(ru_maxrss reported by its tasks) against the largest tensor; the file is deleted afterwards.

Writes section 'zoo' of docs/BENCHMARKS.md (machine, date, load average before/after); last line:
    zoo: <seq ckpt/s> sequential, <1w ckpt/s> 1 worker, <2w ckpt/s> 2 workers (<speed-up>x), split <params/s>

    python scripts/bench/bench_zoo.py [--n 200] [--split-params 1.0e9] [--split-workers 2] [--no-split]
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "bench"))
sys.path.insert(0, str(ROOT))
from _synth import safetensors_prefix  # noqa: E402

TIMM = ("mobilenetv3_small_050", "lcnet_050", "resnet10t")
FORMATS = (".safetensors", ".pt", ".npz", ".h5")


def _module(i: int):
    import timm
    import torch.nn as nn

    if i % 40 == 39:
        return timm.create_model(TIMM[(i // 40) % len(TIMM)], pretrained=False)
    w = (32, 64, 128, 256, 384)[i % 5]
    if i % 2:
        return nn.Sequential(nn.Linear(w, w), nn.ReLU(), nn.Linear(w, w), nn.ReLU(), nn.Linear(w, 10))
    c = w // 4
    return nn.Sequential(nn.Conv2d(3, c, 3), nn.BatchNorm2d(c), nn.ReLU(), nn.Conv2d(c, 2 * c, 3),
                         nn.BatchNorm2d(2 * c), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(2 * c, 10))


def build_zoo(root: Path, n: int) -> tuple[list[Path], int]:
    import numpy as np
    import torch
    from safetensors.torch import save_file

    import paramstat
    from paramstat.store import write_h5

    root.mkdir(parents=True, exist_ok=True)
    paths, params = [], 0
    for i in range(n):
        torch.manual_seed(i)
        m = _module(i)
        sd = {k: v.detach().contiguous().clone() for k, v in m.state_dict().items()}
        params += sum(v.numel() for v in sd.values() if v.is_floating_point())
        ext = FORMATS[i % len(FORMATS)]
        p = root / f"ckpt{i:04d}{ext}"
        if ext == ".safetensors":
            save_file(sd, str(p))
        elif ext == ".pt":
            torch.save(sd, p)
        elif ext == ".npz":
            np.savez(p, **{k: v.numpy() for k, v in sd.items()})
        else:
            write_h5(paramstat.load(m), p)
        paths.append(p)
    return paths, params


def sequential(paths: list[Path], threads: int | None = None) -> dict:
    """The plain loop; ``threads``: cap BLAS/OpenMP pools and torch at that many (as a zoo worker is), else
    the process defaults (all cores)."""
    import contextlib

    import torch
    from threadpoolctl import threadpool_limits

    import paramstat

    paramstat.scan(str(paths[0]), progress=False)          # warm: imports, numba kernels
    before = torch.get_num_threads()
    with threadpool_limits(threads) if threads else contextlib.nullcontext():
        if threads:
            torch.set_num_threads(threads)
        t = time.perf_counter()
        for p in paths:
            paramstat.scan(str(p), progress=False)
        wall = time.perf_counter() - t
    torch.set_num_threads(before)
    return {"wall": wall}


def zoo_run(zoo: Path, n_workers: int, db: Path) -> dict:
    from paramstat.zoo import open_db, scan_zoo
    from paramstat.zoo.cluster import open_client
    from paramstat.zoo.task import warm

    t0 = time.perf_counter()
    with open_client(n_workers) as client:
        t_start = time.perf_counter() - t0
        t1 = time.perf_counter()
        client.run(warm)
        t_warm = time.perf_counter() - t1
        t2 = time.perf_counter()
        c = scan_zoo([str(zoo)], str(db), scheduler=client.scheduler.address, progress=False)
        wall = time.perf_counter() - t2
        noop = noop_overhead(client) if n_workers == 2 else None
    with open_db(str(db)) as z:
        d = z.query("SELECT count(*) AS n, sum(t_task) AS task_s, sum(n_params) AS params, "
                    "count(*) FILTER (WHERE error IS NOT NULL) AS errors FROM checkpoints").iloc[0]
    return {"workers": n_workers, "start": t_start, "warm": t_warm, "wall": wall, "done": c.done,
            "failed": c.failed, "task_s": float(d.task_s), "params": int(d.params), "errors": int(d.errors),
            "overhead_per_task": (n_workers * wall - float(d.task_s)) / max(1, int(d.n)), "noop": noop}


def insert_cost(tmp: Path, zoo_file: Path) -> dict:
    """Client seconds per checkpoint to write its rows, for a 4-tensor and a 100-tensor checkpoint, one
    transaction per checkpoint and 100 per transaction (--commit-every 100); 300 checkpoints each."""
    from paramstat.zoo.store import Writer
    from paramstat.zoo.task import scan_task

    out = scan_task(str(zoo_file))
    res = {}
    for n_t in (4, 100):
        tens = (out["tensors"] * 100)[:n_t]
        for every in (1, 100):
            db = tmp / f"ins_{n_t}_{every}.duckdb"
            w = Writer(str(db), commit_every=every)
            rid = w.start_run("bench", "x", "local", 1, 300)
            t = time.perf_counter()
            for i in range(300):
                w.insert_checkpoint(rid, {**out["row"], "source": f"/c{i}", "path": f"/c{i}"}, tens)
            w.close()
            res[(n_t, every)] = (time.perf_counter() - t) / 300
    return res


def _noop(x):
    return x


def noop_overhead(client, n: int = 2000) -> float:
    client.gather(client.map(_noop, range(50), pure=False))      # warm the path
    t = time.perf_counter()
    client.gather(client.map(_noop, range(n), pure=False))
    return (time.perf_counter() - t) / n


def write_big_bf16(path: Path, n_params: float, side: int = 8192) -> tuple[int, int]:
    """A safetensors file of ceil(n_params / side^2) bf16 (side x side) matrices ~N(0, 0.02^2), written one
    tensor at a time. Returns (parameters, bytes of the largest tensor)."""
    import torch

    k = int(-(-n_params // (side * side)))
    nb = side * side * 2
    g = torch.Generator().manual_seed(0)
    with open(path, "wb") as f:
        f.write(safetensors_prefix([(f"layers.{i}.weight", (side, side)) for i in range(k)]))
        for _ in range(k):
            t = (torch.randn(side, side, generator=g) * 0.02).to(torch.bfloat16)
            f.write(t.view(torch.int16).numpy().tobytes())
            del t
    return k * side * side, nb


def _rss() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


def split_run(tmp: Path, n_params: float, n_workers: int) -> dict:
    from paramstat.zoo import open_db, scan_zoo
    from paramstat.zoo.cluster import open_client
    from paramstat.zoo.task import warm

    big = tmp / "big_bf16.safetensors"
    t = time.perf_counter()
    params, largest = write_big_bf16(big, n_params)
    t_write = time.perf_counter() - t
    db = tmp / "split.duckdb"
    try:
        with open_client(n_workers) as client:
            client.run(warm)
            base = sorted(client.run(_rss).values())
            t = time.perf_counter()
            c = scan_zoo([str(big)], str(db), scheduler=client.scheduler.address, split=True, progress=False)
            wall = time.perf_counter() - t
        with open_db(str(db)) as z:
            row = z.checkpoints().iloc[0]
    finally:
        big.unlink(missing_ok=True)
    return {"params": params, "bytes": params * 2, "largest": largest, "write": t_write, "wall": wall,
            "workers": n_workers, "tasks": int(row.split_tasks), "verdict": row.verdict,
            "t_analysis": float(row.t_analysis), "peak_rss": sorted(c.peak_rss.values()), "base_rss": base}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--split-params", type=float, default=1.0e9)
    ap.add_argument("--split-workers", type=int, default=2)
    ap.add_argument("--no-split", action="store_true")
    ap.add_argument("--no-doc", action="store_true", help="print only, do not write docs/BENCHMARKS.md")
    args = ap.parse_args()
    from _benchdoc import machine_line, update_section

    load0 = os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="bench_zoo_"))
    try:
        t = time.perf_counter()
        paths, params = build_zoo(tmp / "zoo", args.n)
        t_build = time.perf_counter() - t
        print(f"zoo: {len(paths)} checkpoints, {params:,} parameters, built in {t_build:.1f} s", flush=True)
        seq = sequential(paths)
        seq1 = sequential(paths, threads=1)
        print(f"sequential: {seq['wall']:.1f} s, with 1 thread {seq1['wall']:.1f} s", flush=True)
        runs = [zoo_run(tmp / "zoo", w, tmp / f"zoo{w}.duckdb") for w in (1, 2)]
        db_bytes = (tmp / "zoo1.duckdb").stat().st_size
        from paramstat.zoo import open_db

        with open_db(str(tmp / "zoo1.duckdb")) as z:
            n_tensor_rows = int(z.query("SELECT count(*) FROM tensors").iloc[0, 0])
        ins = insert_cost(tmp, paths[1])
        for r in runs:
            print(f"{r['workers']} worker(s): {r['wall']:.1f} s (start {r['start']:.1f} s, warm {r['warm']:.1f} s), "
                  f"{r['done']} done, {r['failed']} failed", flush=True)
        sp = None if args.no_split else split_run(tmp, args.split_params, args.split_workers)
        if sp:
            print(f"split: {sp['params']:,} params in {sp['wall']:.1f} s, peak RSS {sp['peak_rss']}", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    load1 = os.getloadavg()
    n = len(paths)
    one, two = runs
    rate = {"seq": n / seq["wall"], 1: n / one["wall"], 2: n / two["wall"]}
    md = [
        "## zoo: `paramstat zoo scan` on Dask distributed vs a sequential loop (`scripts/bench/bench_zoo.py`)",
        "",
        f"Machine: {machine_line()}; load average (1, 5, 15 min) {load0[0]:.2f}, {load0[1]:.2f}, {load0[2]:.2f} "
        f"before and {load1[0]:.2f}, {load1[1]:.2f}, {load1[2]:.2f} after (the machine was shared with other "
        "jobs: timings are distorted upward, the speed-up most).",
        "",
        f"Zoo: {n} fresh checkpoints (torch.nn MLPs / CNNs of 5k-400k parameters, every 40th a timm model: "
        f"{', '.join(TIMM)}), cycling .safetensors / .pt / .npz / .h5; {params:,} parameters. Everything "
        "warmed before the clock; zoo runs include the DuckDB writes.",
        "",
        "| run | wall s | checkpoints/s | Mparams/s | speed vs 1 worker | cluster start s | worker warm-up s |",
        "|---|---:|---:|---:|---:|---:|---:|",
        f"| sequential `paramstat.scan` loop, 1 process | {seq['wall']:.1f} | {rate['seq']:.2f} | "
        f"{params / seq['wall'] / 1e6:.2f} | {one['wall'] / seq['wall']:.2f}x | — | — |",
        f"| the same loop, BLAS/OpenMP/torch at 1 thread (as a worker) | {seq1['wall']:.1f} | "
        f"{n / seq1['wall']:.2f} | {params / seq1['wall'] / 1e6:.2f} | {one['wall'] / seq1['wall']:.2f}x | — | — |",
    ]
    for r in runs:
        md.append(f"| zoo scan, {r['workers']} worker(s) | {r['wall']:.1f} | {n / r['wall']:.2f} | "
                  f"{params / r['wall'] / 1e6:.2f} | {one['wall'] / r['wall']:.2f}x | {r['start']:.1f} | "
                  f"{r['warm']:.1f} |")
    md += [
        "",
        f"Per task: mean {one['task_s'] / n * 1e3:.0f} ms of work on 1 worker ({two['task_s'] / n * 1e3:.0f} ms "
        f"on 2); time per checkpoint outside tasks (workers x wall - task seconds, / checkpoints: scheduler, "
        f"transfer, DuckDB insert, idle): {one['overhead_per_task'] * 1e3:.1f} ms (1 worker), "
        f"{two['overhead_per_task'] * 1e3:.1f} ms (2 workers). Scheduler round trip of a no-op task "
        f"(`client.map` of 2000, 2 workers): {two['noop'] * 1e3:.2f} ms/task.",
    ]
    md += [
        "",
        f"Client cost of writing a checkpoint's rows (DuckDB, 300 checkpoints each): "
        f"{ins[(4, 1)] * 1e3:.1f} ms with 4 tensors and {ins[(100, 1)] * 1e3:.1f} ms with 100 tensors at one "
        f"transaction per checkpoint (the default); {ins[(4, 100)] * 1e3:.1f} ms and {ins[(100, 100)] * 1e3:.1f} ms "
        f"with `--commit-every 100`. Database size: {db_bytes / 2**20:.1f} MiB for {n} checkpoints and "
        f"{n_tensor_rows:,} tensor rows ({db_bytes / max(1, n_tensor_rows):.0f} bytes a tensor row, all included).",
    ]
    if sp:
        gib = sp["bytes"] / 2**30
        md += [
            "",
            f"Split mode: {sp['params']:,} bf16 parameters ({gib:.2f} GiB, {sp['params'] // (sp['largest'] // 2)} "
            f"matrices 8192x8192 of {sp['largest'] / 2**20:.0f} MiB), written tensor by tensor in "
            f"{sp['write']:.1f} s, scanned `--split` on a warmed {sp['workers']}-worker cluster in "
            f"{sp['wall']:.1f} s = {sp['params'] / sp['wall'] / 1e6:.0f} M params/s, {sp['tasks']} tasks, "
            f"{sp['t_analysis']:.1f} worker-seconds of analysis, verdict `{sp['verdict']}`; peak RSS per worker "
            + ", ".join(f"{b / 2**30:.2f} GiB" for b in sp["peak_rss"]) + " (after warm-up, before the scan: "
            + ", ".join(f"{b / 2**30:.2f} GiB" for b in sp["base_rss"]) + ")"
            + f" against a largest tensor of {sp['largest'] / 2**20:.0f} MiB (bf16; "
            f"{sp['largest'] * 2 / 2**20:.0f} MiB as float32 values) and a whole file of {gib:.2f} GiB.",
        ]
    line = (f"zoo: {rate['seq']:.2f} ckpt/s sequential ({n / seq1['wall']:.2f} at 1 thread), {rate[1]:.2f} ckpt/s 1 worker, {rate[2]:.2f} ckpt/s "
            f"2 workers ({one['wall'] / two['wall']:.2f}x)"
            + (f", split {sp['params'] / sp['wall'] / 1e6:.0f} M params/s" if sp else ""))
    md += ["", f"`{line}`"]
    if not args.no_doc:
        update_section("zoo", "\n".join(md))
    print("\n".join(md))
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
