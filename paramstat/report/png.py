"""The one way paramstat draws to files: matplotlib's Agg backend (no display needed) and PNGs written
atomically (paramstat.atomic: temp file + rename, never over an existing file without ``force``).
Used by report/plots.py, report/compare_plots.py and report/lab_plots.py."""
from __future__ import annotations

from pathlib import Path

from ..atomic import atomic_path

DPI = 110


def pyplot():
    """matplotlib.pyplot on the Agg backend (imported on first use: `paramstat --help` stays instant)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_png(fig, path: str | Path, force: bool = False, dpi: int = DPI) -> Path:
    """Write ``fig`` to ``path`` atomically (format from the suffix, PNG when none) and close it."""
    path = Path(path)
    with atomic_path(path, force) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip(".") or "png", dpi=dpi, bbox_inches="tight")
    pyplot().close(fig)
    return path
