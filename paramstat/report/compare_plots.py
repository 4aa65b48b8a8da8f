"""matplotlib figures for a CompareResult: relative change per tensor in network order, and histogram
overlays (A vs B, from the paired subsamples) for chosen tensors. Files are written atomically."""
from __future__ import annotations

import math
from pathlib import Path

from .compare_report import REL_STYLE
from .png import pyplot, save_png

_COLORS = {"green": "#2ca02c", "cyan": "#17becf", "yellow": "#bcbd22", "magenta": "#9467bd", "red": "#d62728"}


def _color(label) -> str:
    return _COLORS.get(REL_STYLE.get(label, ""), "#7f7f7f")


def plot_rel_change(res, path: Path, force: bool = False) -> Path:
    """rel_change_figure(res) written to ``path``."""
    return save_png(rel_change_figure(res), path, force)


def rel_change_figure(res):
    """||B-A||/||A|| per tensor against network order (log scale). Tensors whose values are all equal
    (rel change exactly 0) have no place on a log axis: they get their own strip under the plot, marked
    '|' and labelled 'identical', so no floor value can be read as a small change. A zero A with a
    non-zero B (rel change inf) is drawn as '^' at the top. Returns the matplotlib Figure."""
    plt = pyplot()

    tds = sorted(res.tensors, key=lambda t: t.depth)
    finite = [t.rel_change for t in tds if t.rel_change > 0 and not math.isinf(t.rel_change)]
    top = max(finite) * 10 if finite else 1.0
    ident = [i for i, t in enumerate(tds) if t.rel_change == 0]
    width = max(6.0, min(0.08 * len(tds), 24.0))
    if ident:
        fig, (ax, axi) = plt.subplots(2, 1, sharex=True, figsize=(width, 4.2),
                                      gridspec_kw={"height_ratios": [6, 1], "hspace": 0.08})
    else:
        fig, ax = plt.subplots(figsize=(width, 3.6))
        axi = None
    seen = set()
    for i, t in enumerate(tds):
        if t.rel_change == 0:
            continue
        lab = t.relation or "moved (constant side)"
        inf = math.isinf(t.rel_change)
        ax.scatter([i], [top if inf else t.rel_change], s=18 if inf else 12, marker="^" if inf else "o",
                   color=_color(t.relation), label=None if lab in seen else lab)
        seen.add(lab)
    ax.set_yscale("log")
    if finite:
        has_inf = any(math.isinf(t.rel_change) for t in tds)
        ax.set_ylim(min(finite) / 3, (top if has_inf else max(finite)) * 3)
    else:
        ax.set_ylim(1e-3, 10.0)
        ax.text(0.5, 0.5, "no tensor changed", transform=ax.transAxes, ha="center", va="center", color="#555555")
    ax.set_ylabel("||B-A|| / ||A||")
    title = f"relation: {res.relation}"
    if getattr(res, "relation_detail", ""):
        title += f"\n{res.relation_detail}"
    ax.set_title(title, fontsize=9)
    handles, labels = ax.get_legend_handles_labels()
    if axi is not None:
        h = axi.scatter(ident, [0.0] * len(ident), marker="|", s=120, linewidths=1.5, color=_color("identical"))
        axi.set_yticks([])
        axi.set_ylim(-1, 1)
        axi.set_ylabel("identical", rotation=0, ha="right", va="center", fontsize=8)
        axi.set_xlabel("tensor (network order)")
        handles.append(h)
        labels.append(f"identical ({len(ident)}: rel change 0, below the log axis)")
    else:
        ax.set_xlabel("tensor (network order)")
    if handles:
        ax.legend(handles, labels, fontsize=7, loc="best")
    ax.set_xlim(-1, max(len(tds), 1))
    return fig


def plot_histograms(res, names: list[str], path: Path, force: bool = False) -> Path:
    """Overlaid value histograms (A vs B) for each named tensor that has histogram data."""
    plt = pyplot()

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
    return save_png(fig, path, force)


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
