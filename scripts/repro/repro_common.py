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
    IMG.mkdir(parents=True, exist_ok=True)
    p = IMG / name
    tmp = p.with_name(f".{p.name}.tmp")
    fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    os.replace(tmp, p)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return p


def fmt(x, spec=".2f", none="—"):
    return none if x is None or (isinstance(x, float) and x != x) else format(x, spec)
