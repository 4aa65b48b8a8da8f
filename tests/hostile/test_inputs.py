"""Every hostile input (tests/hostile/generate.py builds them, nothing large is committed) run through the real
CLI (tests/hostile/runner.py, one process per family): no code ran, nothing outside the input was opened, no
secret byte reached any output, every refusal is one line with exit 2, no run passed its memory or time
bound (a refusal may follow one-line ``paramstat: warning:`` lines, e.g. --trust-pickle's).
``PARAMSTAT_HOSTILE_RECORDS=DIR`` keeps each family's run records (scripts/checks/hostile_survey.py counts
them for docs/SECURITY.md)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
import generate  # noqa: E402

RSS_LIMIT = 4 << 30      # the runner ends the process above this (a regression must not take the machine down)
RSS_BOUND = 2 << 30      # what a run may use: paramstat with torch imported is ~0.5 GiB
TIME_BOUND = 120.0       # seconds per run (the bound; the largest count cases take 10-45 s here)
SECRET_LINE = generate.SECRET.splitlines()[0].decode()


def run_family(family: str, root: Path) -> tuple[list[generate.Case], list[dict]]:
    cases = generate.build(family, root)
    out = root / "out"
    out.mkdir()
    runs = []
    for c in cases:
        for i, argv in enumerate(c.runs):
            runs.append({"case": c.name, "i": i,
                         "argv": [a.format(src=c.src, out=out / f"{c.name}.{i}.h5") for a in argv]})
    spec = root / "spec.json"
    spec.write_text(json.dumps({"outside": str(root / "outside"), "rss_limit": RSS_LIMIT,
                                "time_limit": 2 * TIME_BOUND, "runs": runs}))
    res = root / "results.jsonl"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE.parent.parent), os.environ.get("PYTHONPATH", "")]),
               COLUMNS="200")
    p = subprocess.run([sys.executable, str(HERE / "runner.py"), str(spec), str(res)], cwd=root / "out",
                       env=env, capture_output=True, text=True, timeout=60 * 20)
    recs = [json.loads(ln) for ln in res.read_text().splitlines()] if res.exists() else []
    assert p.returncode == 0, (f"runner ended with {p.returncode} after {len(recs)} of {len(runs)} runs; last: "
                               f"{recs[-1] if recs else None}; stderr: {p.stderr[-2000:]}")
    assert len(recs) == len(runs)
    by = {c.name: c for c in cases}
    for r in recs:   # judged once: the test reads r["problems"], the survey the kept records
        c = by[r["case"]]
        r.update(family=family, expect=c.expect, problems=problems(c, r, out / f"{c.name}.{r['i']}.h5"))
    keep = os.environ.get("PARAMSTAT_HOSTILE_RECORDS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        with open(Path(keep) / f"{family}.jsonl", "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in recs)
    return cases, recs


def problems(case: generate.Case, r: dict, out_path: Path) -> list[str]:
    """What went wrong in one run (empty: the run behaved)."""
    bad = []
    cmd = r["argv"][0]
    text = r["stdout"] + r["stderr"]
    lines = [ln for ln in r["stderr"].splitlines() if ln.strip() and not ln.startswith("paramstat: warning: ")]
    rc = r["rc"]
    if not isinstance(rc, int):
        bad.append(f"exception escaped main: {rc}")
    elif case.expect == "refuse" or (case.expect == "either" and rc != 0):
        if rc != 2:
            bad.append(f"exit {rc}, not 2")
        if len(lines) != 1 or not lines[0].startswith(f"paramstat {cmd}: error: "):
            bad.append(f"not one error line: {lines[:4]}")
        if out_path.exists():
            bad.append("refused but wrote an output")
    elif case.expect == "ok" and rc != 0:
        bad.append(f"exit {rc}, expected 0: {lines[-2:]}")
    for word in case.says:
        if word.lower() not in text.lower():
            bad.append(f"does not say {word!r}")
    for word in ("Traceback", "internal error", "Exception ignored", SECRET_LINE) + case.forbid:
        if word in text:
            bad.append(f"output contains {word!r}")
    if out_path.exists() and generate.SECRET[:32] in out_path.read_bytes():
        bad.append("secret bytes copied into the output")
    if not r.get("inotify_ok"):
        bad.append("inotify unavailable: opens by C libraries would go unseen")
    if r["opened"] or r["inotify"]:
        bad.append(f"opened outside the input: {r['opened']} {r['inotify']}")
    if r["execs"]:
        bad.append(f"started code: {r['execs']}")
    if r["seconds"] > TIME_BOUND:
        bad.append(f"took {r['seconds']:.1f} s")
    if r["peak_rss"] > RSS_BOUND:
        bad.append(f"peak RSS {r['peak_rss'] / 2**30:.2f} GiB")
    return bad


@pytest.mark.slow
@pytest.mark.parametrize("family", generate.FAMILIES)
def test_family(family, tmp_path):
    cases, recs = run_family(family, tmp_path)
    by = {c.name: c for c in cases}
    markers = sorted(p.name for p in tmp_path.glob("marker*"))
    assert not markers, f"a payload ran: {markers}"
    failures = []
    for r in recs:
        c, i = by[r["case"]], r["i"]
        failures += [f"{c.name} [{' '.join(c.runs[i])}]: {p}" for p in r["problems"]]
    assert not failures, f"{len(failures)} problems in {len(recs)} runs:\n" + "\n".join(failures)
    assert len(recs) >= len(cases)
