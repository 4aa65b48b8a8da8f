"""Counts for docs/SECURITY.md: runs the hostile-input suite (tests/hostile/test_inputs.py, every family, real
CLI processes) and the mutation fuzzers (tests/hostile/test_fuzz.py, ``--examples`` per format), then tabulates
the run records by family: cases, runs, exits, and every outcome the suite forbids.

    python scripts/checks/hostile_survey.py [--examples 300] [--write]

``--write`` replaces the block between the survey markers in docs/SECURITY.md."""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "SECURITY.md"
BEGIN, END = "<!-- hostile-survey:begin -->", "<!-- hostile-survey:end -->"
OUTCOMES = [("code ran", "started code"), ("outside reads", "opened outside"), ("leaked bytes", "secret"),
            ("tracebacks", "'Traceback'"), ("internal errors", "'internal error'"),
            ("over RSS bound", "peak RSS"), ("over time bound", "took "), ("not one clean line", "not one error line"),
            ("wrong exit", "exit ")]


def run_pytest(args: list[str], env: dict) -> tuple[int, float, str]:
    t0 = time.time()
    p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=ROOT,
                       env=env, capture_output=True, text=True)
    lines = (p.stdout + p.stderr).strip().splitlines()
    return p.returncode, time.time() - t0, next((ln.strip("= ") for ln in reversed(lines)
                                                  if " passed" in ln or " failed" in ln), lines[-1])


def table(records: list[dict]) -> list[str]:
    fams = sorted({r["family"] for r in records}, key=lambda f: ["outside", "memory", "count", "malformed",
                                                                  "code", "valid"].index(f))
    head = ["family", "cases", "runs", "exit 0", "exit 2", "other"] + [o for o, _ in OUTCOMES] + \
        ["max RSS GiB", "max s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for fam in fams + ["all"]:
        rs = records if fam == "all" else [r for r in records if r["family"] == fam]
        rc = Counter(r["rc"] if isinstance(r["rc"], int) else "escaped" for r in rs)
        row = [fam, len({r["case"] for r in rs}), len(rs), rc[0], rc[2], len(rs) - rc[0] - rc[2]]
        for _o, key in OUTCOMES:
            row.append(sum(any(key.lower() in p.lower() for p in r["problems"]) for r in rs))
        row += [f"{max(r['peak_rss'] for r in rs) / 2**30:.2f}", f"{max(r['seconds'] for r in rs):.1f}"]
        lines.append("| " + " | ".join(f"**{x}**" if fam == "all" else str(x) for x in row) + " |")
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=300, help="fuzz examples per format (default 300)")
    ap.add_argument("--write", action="store_true", help="write the figures into docs/SECURITY.md")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as rec:
        env = dict(os.environ, PARAMSTAT_HOSTILE_RECORDS=rec, PARAMSTAT_FUZZ_EXAMPLES=str(a.examples))
        rc_in, t_in, last_in = run_pytest(["-n", "2", "tests/hostile/test_inputs.py"], env)
        rc_fz, t_fz, last_fz = run_pytest(["-n", "2", "tests/hostile/test_fuzz.py"], env)
        records = [json.loads(ln) for f in sorted(Path(rec).glob("*.jsonl")) for ln in f.read_text().splitlines()]
    n_fuzz = a.examples * 8   # 7 containers + the safetensors header-field test
    load = os.getloadavg()[0]
    out = [BEGIN,
           f"Measured {datetime.date.today()} on {platform.machine()} ({os.cpu_count()} cores, load {load:.1f}) by "
           "`python scripts/checks/hostile_survey.py --examples "
           f"{a.examples}`: the suite ran {t_in:.0f} s (`{last_in}`), the fuzzers {t_fz:.0f} s (`{last_fz}`).", "",
           *table(records), "",
           f"Fuzzing: {n_fuzz:,} mutated files ({a.examples} per container: safetensors, npz, torch zip, legacy "
           "torch, ONNX, HDF5, Keras .weights.h5, plus hypothesis-drawn safetensors header fields), each opened "
           "and read in a forked child: " + ("every one succeeded or was one ParamstatError." if rc_fz == 0 else
                                             "**some failed** (see the pytest output)."),
           END]
    text = "\n".join(out)
    print(text)
    if a.write:
        doc = DOC.read_text()
        if BEGIN in doc:
            doc = doc[:doc.index(BEGIN)] + text + doc[doc.index(END) + len(END):]
        else:
            doc = doc.rstrip("\n") + "\n\n" + text + "\n"
        DOC.write_text(doc)
    return 0 if rc_in == 0 and rc_fz == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
