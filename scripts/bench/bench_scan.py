"""Benchmark: `paramstat scan resnet18 --fresh` against WeightWatcher 0.7.7 `analyze()` (default, and with
randomize=True, mp_fit=True) on the same fresh timm ResNet-18 (seed 0), in the same run.

Every contender runs in its own child process: analysis seconds (as the tool times its own analysis),
process seconds (wall time of the whole child, imports included) and peak RSS (RUSAGE_CHILDREN of a small
wrapper around the child). paramstat is run `--repeats` times, best taken. Also profiles the import path
of `paramstat scan` (python -X importtime). Writes section 'scan' of docs/BENCHMARKS.md; last line:
    scan: <analysis seconds> s analysis, <process seconds> s process, <ratio>x weightwatcher
where ratio = WeightWatcher analyze() seconds (default) / paramstat analysis seconds.

    python scripts/bench/bench_scan.py [--repeats 3] [--no-mp-fit]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "bench"))

WRAP = ("import json, resource, subprocess, sys, time; t = time.perf_counter(); "
        "cp = subprocess.run(sys.argv[1:], capture_output=True, text=True); w = time.perf_counter() - t; "
        "sys.stderr.write(cp.stderr); sys.stdout.write(cp.stdout); "
        "ru = resource.getrusage(resource.RUSAGE_CHILDREN); "
        "print('@@' + json.dumps({'rc': cp.returncode, 'wall': w, 'cpu': ru.ru_utime + ru.ru_stime, "
        "'maxrss_kb': ru.ru_maxrss}))")

WW_CHILD = r"""
import json, logging, sys, time, warnings
warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)
import timm, torch, weightwatcher as ww
torch.manual_seed(0)
m = timm.create_model("resnet18", pretrained=False)
kw = json.loads(sys.argv[1])
t, c = time.perf_counter(), time.process_time()
df = ww.WeightWatcher(model=m).analyze(**kw)
s, cs = time.perf_counter() - t, time.process_time() - c
print(json.dumps({"analysis": s, "analysis_cpu": cs, "n_layers": int(len(df)), "version": ww.__version__}))
"""


def child(argv: list[str], env=None) -> tuple[dict, str, str]:
    cp = subprocess.run([sys.executable, "-c", WRAP, *argv], capture_output=True, text=True, env=env,
                        cwd=ROOT)
    out, _, meta = cp.stdout.rpartition("@@")
    return json.loads(meta), out, cp.stderr


def run_paramstat(repeats: int) -> dict:
    best = None
    for _ in range(repeats):
        meta, out, err = child([sys.executable, "-m", "paramstat", "scan", "resnet18", "--fresh", "--json", "-",
                                "--no-progress"])
        if meta["rc"] != 0:
            raise SystemExit(f"paramstat scan failed: {err.strip()[-500:]}")
        d = json.loads(out)
        rec = {"analysis": d["timings"]["analysis"], "load": d["timings"]["load"], "process": meta["wall"],
               "analysis_cpu": d["timings"].get("analysis_cpu", float("nan")), "process_cpu": meta["cpu"],
               "rss_mib": meta["maxrss_kb"] / 1024, "verdict": d["verdict"],
               "counts": {k: v for k, v in d["counts"].items() if v}, "n_tensors": len(d["tensors"])}
        if best is None:
            best = dict(rec, analysis_all=[], process_all=[])
        best["analysis_all"].append(rec["analysis"])
        best["process_all"].append(rec["process"])
        best["analysis"] = min(best["analysis"], rec["analysis"])
        best["analysis_cpu"] = min(best["analysis_cpu"], rec["analysis_cpu"])
        best["process_cpu"] = min(best["process_cpu"], rec["process_cpu"])
        best["process"] = min(best["process"], rec["process"])
        best["rss_mib"] = max(best["rss_mib"], rec["rss_mib"])
    return best


def run_ww(kwargs: dict) -> dict:
    meta, out, err = child([sys.executable, "-c", WW_CHILD, json.dumps(kwargs)])
    if meta["rc"] != 0:
        return {"error": err.strip().splitlines()[-1] if err.strip() else f"rc {meta['rc']}"}
    d = json.loads(out.strip().splitlines()[-1])
    return {"analysis": d["analysis"], "analysis_cpu": d["analysis_cpu"], "process": meta["wall"],
            "process_cpu": meta["cpu"], "rss_mib": meta["maxrss_kb"] / 1024,
            "n_layers": d["n_layers"], "version": d["version"]}


def import_profile(top: int = 8) -> tuple[float, list[tuple[str, float]]]:
    """Cumulative import times (s) of the modules `paramstat scan` loads, largest first."""
    with tempfile.NamedTemporaryFile(suffix=".json") as tmp:
        cp = subprocess.run([sys.executable, "-X", "importtime", "-m", "paramstat", "scan", "resnet18", "--fresh",
                             "--json", tmp.name, "--force", "--no-progress"], capture_output=True, text=True,
                            cwd=ROOT)
    rows = []
    for line in cp.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            parts = line.split("|")
            try:
                cum = int(parts[1].strip()) / 1e6
            except ValueError:
                continue
            name = parts[2].rstrip()
            depth = (len(name) - len(name.lstrip())) // 2
            rows.append((name.strip(), cum, depth))
    tops = sorted([r for r in rows if r[2] <= 1], key=lambda r: -r[1])
    total = sum(r[1] for r in rows if r[2] == 0)
    return total, [(n, c) for n, c, _ in tops[:top]]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-mp-fit", action="store_true", help="skip the slow randomize=True, mp_fit=True run")
    args = ap.parse_args()
    from _benchdoc import machine_line, update_section

    load_before = os.getloadavg()
    t0 = time.perf_counter()
    ps = run_paramstat(args.repeats)
    print(f"paramstat scan: analysis {ps['analysis']:.2f} s (runs {', '.join(f'{x:.2f}' for x in ps['analysis_all'])}), "
          f"process {ps['process']:.2f} s, peak RSS {ps['rss_mib']:.0f} MiB, verdict {ps['verdict']}", flush=True)
    ww_def = run_ww({})
    print(f"weightwatcher analyze(): {ww_def}", flush=True)
    ww_mp = {"skipped": True} if args.no_mp_fit else run_ww({"randomize": True, "mp_fit": True})
    print(f"weightwatcher analyze(randomize=True, mp_fit=True): {ww_mp}", flush=True)
    imp_total, imp_top = import_profile()
    load_after = os.getloadavg()

    def cell(d, k, fmt):
        return fmt.format(d[k]) if k in d else "—"

    rows = [("`paramstat scan resnet18 --fresh`", ps, f"verdict {ps['verdict']} "
             f"({', '.join(f'{v} {k}' for k, v in ps['counts'].items())}, {ps['n_tensors']} tensors)"),
            ("WeightWatcher `analyze()`", ww_def, f"{ww_def.get('n_layers', '—')} layers"),
            ("WeightWatcher `analyze(randomize=True, mp_fit=True)`", ww_mp,
             "skipped (--no-mp-fit)" if ww_mp.get("skipped") else f"{ww_mp.get('n_layers', '—')} layers")]
    ratio = ww_def["analysis"] / ps["analysis"] if "analysis" in ww_def else float("nan")
    ratio_mp = ww_mp["analysis"] / ps["analysis"] if "analysis" in ww_mp else float("nan")
    cpu_ratio = ww_def.get("analysis_cpu", float("nan")) / ps["analysis_cpu"]
    cpu_ratio_mp = ww_mp.get("analysis_cpu", float("nan")) / ps["analysis_cpu"]
    md = [f"## scan: `paramstat scan` vs WeightWatcher {ww_def.get('version', '0.7.7')} (fresh timm ResNet-18)",
          "",
          f"Machine: {machine_line()}; load average {load_before[0]:.1f} before, {load_after[0]:.1f} after "
          f"(the 2 cores are shared: figures vary with the load). `scripts/bench/bench_scan.py`, "
          f"{time.perf_counter() - t0:.0f} s. Each tool in its own child process; paramstat best of {args.repeats}.",
          "",
          "| tool | analysis s (wall) | analysis CPU s | process s (wall) | process CPU s | peak RSS MiB | result |",
          "|---|---:|---:|---:|---:|---:|---|"]
    for name, d, note in rows:
        md.append(f"| {name} | {cell(d, 'analysis', '{:.2f}')} | {cell(d, 'analysis_cpu', '{:.2f}')} | "
                  f"{cell(d, 'process', '{:.2f}')} | {cell(d, 'process_cpu', '{:.2f}')} | "
                  f"{cell(d, 'rss_mib', '{:.0f}')} | {note} |")
    md += ["",
           f"Analysis = the tool's own timing of its analysis (paramstat: `timings.analysis` of `--json`, every "
           f"tensor read + judged; load {ps['load']:.2f} s more). paramstat runs: "
           f"{', '.join(f'{x:.2f}' for x in ps['analysis_all'])} s analysis, "
           f"{', '.join(f'{x:.2f}' for x in ps['process_all'])} s process. Speed-up on the analysis: "
           f"{ratio:.1f}x WeightWatcher default, {ratio_mp:.0f}x with the MP fit (wall); on CPU seconds, which the "
           f"shared machine's load inflates less: {cpu_ratio:.1f}x and {cpu_ratio_mp:.0f}x. Targets: analysis <= 2 s, "
           f"process <= 5 s on 2 cores. CPU s = user + system of the process (all threads).",
           "",
           f"Import path of `paramstat scan resnet18 --fresh` (python -X importtime, cumulative, this run; "
           f"{imp_total:.2f} s of imports in all):",
           "",
           "| module | cumulative import s |", "|---|---:|"]
    md += [f"| `{n}` | {c:.2f} |" for n, c in imp_top]
    update_section("scan", "\n".join(md))
    print("\n".join(md))
    print(f"scan: {ps['analysis']:.2f} s analysis, {ps['process']:.2f} s process, {ratio:.1f}x weightwatcher")
    return 0


if __name__ == "__main__":
    sys.exit(main())
