"""matplotlib figures for a CompareResult: relative change per tensor in network order, and histogram
overlays (A vs B, from the paired subsamples) for chosen tensors. Files are written atomically."""
from __future__ import annotations

import math
from pathlib import Path

from ..atomic import atomic_path
from .compare_report import REL_STYLE

_COLORS = {"green": "#2ca02c", "cyan": "#17becf", "yellow": "#bcbd22", "magenta": "#9467bd", "red": "#d62728"}


def _color(label) -> str:
    return _COLORS.get(REL_STYLE.get(label, ""), "#7f7f7f")


def _save(fig, path: Path, force: bool) -> Path:
    with atomic_path(path, force) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip(".") or "png", dpi=110, bbox_inches="tight")
    return path


def plot_rel_change(res, path: Path, force: bool = False) -> Path:
    """||B-A||/||A|| per tensor against network order (log scale; identical tensors drawn at the floor)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tds = sorted(res.tensors, key=lambda t: t.depth)
    finite = [t.rel_change for t in tds if t.rel_change > 0 and not math.isinf(t.rel_change)]
    floor = min(finite) / 10 if finite else 1e-8
    top = max(finite) * 10 if finite else 1.0
    fig, ax = plt.subplots(figsize=(max(6.0, min(0.08 * len(tds), 24.0)), 3.6))
    seen = set()
    for i, t in enumerate(tds):
        y = t.rel_change if t.rel_change > 0 else floor
        y = top if math.isinf(y) else y
        lab = t.relation or "moved (constant side)"
        ax.scatter([i], [y], s=12, color=_color(t.relation), label=None if lab in seen else lab)
        seen.add(lab)
    ax.set_yscale("log")
    ax.set_xlabel("tensor (network order)")
    ax.set_ylabel("||B-A|| / ||A||")
    ax.set_title(f"relation: {res.relation}")
    ax.legend(fontsize=7, loc="best")
    out = _save(fig, path, force)
    plt.close(fig)
    return out


def plot_histograms(res, names: list[str], path: Path, force: bool = False) -> Path:
    """Overlaid value histograms (A vs B) for each named tensor that has histogram data."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by = {t.name: t for t in res.tensors}
    tds = [by[n] for n in names if n in by and by[n].hist and by[n].hist.get("edges")]
    k = max(1, len(tds))
    cols = min(3, k)
    rows = math.ceil(k / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False)
    for ax, t in zip(axes.flat, tds):
        e = t.hist["edges"]
        ax.stairs(t.hist["a"], e, label="A", color="#1f77b4")
        ax.stairs(t.hist["b"], e, label="B", color="#d62728")
        ax.set_title(f"{t.name}\n{t.relation}, rel {t.rel_change:.3g}, KS D {t.ks_d:.3f}", fontsize=8)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(tds):]:
        ax.axis("off")
        if not tds:
            ax.text(0.5, 0.5, "no changed tensor to plot", ha="center", va="center")
    fig.tight_layout()
    out = _save(fig, path, force)
    plt.close(fig)
    return out


def write_plots(res, folder: str | Path, names: list[str] | None = None, top: int = 6,
                force: bool = False) -> list[Path]:
    """rel_change.png and histograms.png in ``folder`` (created if missing). Default tensors for the
    histograms: the ``top`` most-changed weight matrices/kernels (then other tensors)."""
    d = Path(folder)
    d.mkdir(parents=True, exist_ok=True)
    if not names:  # weight tensors first: running statistics move with the data, not the optimizer
        ranked = res.top_changed(len(res.tensors))
        weights = [t.name for t in ranked if len(t.shape) >= 2 and t.role != "running_stat"]
        names = (weights + [t.name for t in ranked if t.name not in weights])[:top]
    return [plot_rel_change(res, d / "rel_change.png", force), plot_histograms(res, names, d / "histograms.png", force)]
