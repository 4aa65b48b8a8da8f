"""Shared by scripts/repro/repro_*.py: sections of docs/LAB.md, result JSON under zoo/lab/, figure paths."""
from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "bench"))
from _benchdoc import replace_section  # noqa: E402

DOC = ROOT / "docs" / "LAB.md"
IMG = ROOT / "docs" / "img"
RESULTS = ROOT / "zoo" / "lab"
sys.path.insert(0, str(ROOT))
from paramstat.report.png import pyplot, save_png  # noqa: E402,F401 - pyplot: the repro scripts' import


def machine_line() -> str:
    import torch

    return (f"{platform.machine()}, {os.cpu_count()} cores (torch threads 1), Python {platform.python_version()}, "
            f"torch {torch.__version__}")


def update_section(name: str, markdown: str) -> None:
    """Replace (or append) the block between <!-- lab:NAME --> and <!-- /lab:NAME --> in docs/LAB.md."""
    replace_section(DOC, "lab", name, markdown, "# The start-training lab\n")


def steps_to(curve, target):
    """First evaluated step whose test accuracy reaches ``target`` (None if never)."""
    for s, a in curve:
        if a >= target:
            return s
    return None


def save_json(name: str, obj) -> Path:
    from paramstat.report.jsonout import dumps

    RESULTS.mkdir(parents=True, exist_ok=True)
    p = RESULTS / f"{name}.json"
    tmp = p.with_suffix(".json.tmp")
    tmp.write_text(dumps(obj) + "\n")
    os.replace(tmp, p)
    return p


def load_json(name: str):
    p = RESULTS / f"{name}.json"
    return json.loads(p.read_text()) if p.exists() else None


def savefig(fig, name: str) -> Path:
    """docs/img/NAME, written atomically over the previous figure (paramstat.report.png.save_png)."""
    IMG.mkdir(parents=True, exist_ok=True)
    return save_png(fig, IMG / name, force=True)


def plot_mean_curves(runs, inits, xlabel: str, ylabel: str, title: str, hlines=()):
    """One line per init: test accuracy at each evaluated step, averaged over the init's runs
    (each run a dict with 'init' and 'curve' = [(step, acc), ...]); dashed grey lines at ``hlines``."""
    import numpy as np

    fig, ax = pyplot().subplots(figsize=(7, 4.5))
    for init in inits:
        rs = [r for r in runs if r["init"] == init]
        s = np.array([x for x, _ in rs[0]["curve"]])
        acc = np.mean([[a for _, a in r["curve"]] for r in rs], axis=0)
        ax.plot(s, acc, label=init)
    for t in hlines:
        ax.axhline(t, ls="--", color="grey", lw=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    return fig


def main_or_report(main, report, name: str, key: str) -> None:
    """A repro script's entry point: with --report redraw from RESULTS/NAME.json (report(config, d[key])),
    otherwise run main()."""
    if "--report" in sys.argv:
        d = load_json(name)
        if d is None:
            sys.exit(f"no {RESULTS / name}.json to redraw from: run the script without --report first")
        report(d["config"], d[key])
    else:
        main()


def fmt(x, spec=".2f", none="—"):
    return none if x is None or (isinstance(x, float) and x != x) else format(x, spec)
