"""PNG plots for `paramstat scan --plots DIR` (matplotlib Agg, atomic writes). Draws PlotData from
paramstat.verdict.plotdata.plot_data; computes nothing."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..verdict.plotdata import PlotData
from .png import pyplot as _plt
from .png import save_png as _save

COLORS = {"trained": "#2ca02c", "untrained": "#ff7f0e", "undetermined": "#7f7f7f", "skipped": "#cccccc"}


def _short(name: str, n: int = 38) -> str:
    """Elide the middle: both the prefix (which branch / block) and the leaf name stay readable."""
    if len(name) <= n:
        return name
    head = (n - 1) // 3
    return name[:head] + "…" + name[-(n - 1 - head):]


def _view_range(values: np.ndarray, lo: float, hi: float) -> tuple[float, float]:
    """The 0.1-99.9 percentile range padded by 25% (within [lo, hi]): a few outliers must not squeeze the bulk
    of a heavy-tailed tensor into one bin."""
    a, b = np.percentile(values, [0.1, 99.9])
    pad = 0.25 * (b - a) if b > a else 1e-12
    return max(lo, float(a - pad)), min(hi, float(b + pad))


def _panel_grid(k: int):
    """A figure with ``k`` panels, three to a row (5.2 x 3.8 in each); returns (fig, 2-D array of axes)."""
    cols = min(3, k)
    rows = math.ceil(k / cols)
    return _plt().subplots(rows, cols, figsize=(5.2 * cols, 3.8 * rows), squeeze=False)


def histograms(pd: PlotData, path: Path, force: bool = False) -> Path | None:
    if not pd.hists:
        return None
    k = len(pd.hists)
    fig, axes = _panel_grid(k)
    for ax, h in zip(axes.ravel(), pd.hists):
        lo, hi = _view_range(np.asarray(h.values), h.curves[0][1][0], h.curves[0][1][-1])
        vals = np.asarray(h.values)
        inside = (vals >= lo) & (vals <= hi)
        n_out = int(vals.size - inside.sum())
        # density over ALL values (not only those shown), so the bars and the fitted pdfs share one scale
        bw = (hi - lo) / 120
        ax.hist(vals[inside], bins=120, range=(lo, hi), weights=np.full(int(inside.sum()), 1.0 / (vals.size * bw)),
                color="#c6dbef", edgecolor="none",
                label=f"values (n={h.n:,})" + (f"; {n_out:,} of the plotted sample off-axis" if n_out else ""))
        for (label, x, y), ls in zip(h.curves, ("-", "--", ":")):
            keep = (x >= lo) & (x <= hi)
            ax.plot(x[keep], y[keep], ls, lw=1.6, label=label)
        ax.set_xlim(lo, hi)
        score = "—" if h.score is None else f"{h.score:.2f}"
        ax.set_title(f"{_short(h.name)}\n{h.verdict} (P(trained)={score})", fontsize=9,
                     color=COLORS.get(h.verdict, "k"))
        ax.set_xlabel("value")
        ax.set_ylabel("density")
        ax.legend(fontsize=7, loc="upper right")
    for ax in axes.ravel()[k:]:
        ax.axis("off")
    fig.suptitle(f"{pd.title} — best fitted pdfs by BIC (paramstat.stats.fits, 20k-value subsample)", fontsize=10)
    fig.tight_layout()
    return _save(fig, path, force)


def bit_heatmap(pd: PlotData, path: Path, force: bool = False) -> Path | None:
    z = pd.bit_z
    if z.size == 0 or np.all(np.isnan(z)):
        return None
    plt = _plt()
    n, nb = z.shape
    fig, ax = plt.subplots(figsize=(max(6.0, 0.28 * nb + 3), min(max(3.0, 0.13 * n + 1.5), 16)))
    # clip the colour scale at the fraction bits' range: exponent bits reach |Z| in the hundreds
    frac = np.abs(z[:, :min(nb, 23)])
    vmax = float(np.clip(np.nanpercentile(frac, 99.5), 4.0, 30.0)) if np.isfinite(frac).any() else 4.0
    cmap = plt.get_cmap("RdBu_r").with_extremes(bad="#dddddd")
    im = ax.imshow(np.ma.masked_invalid(z), aspect="auto", cmap=cmap, vmin=-vmax, vmax=vmax,
                   interpolation="nearest")
    ax.set_xticks(range(nb))
    ax.set_xticklabels([str(i) for i in range(nb)], fontsize=6)
    step = max(1, math.ceil(n / 90))
    ax.set_yticks(range(0, n, step))
    ax.set_yticklabels([_short(pd.bit_names[i], 45) for i in range(0, n, step)], fontsize=6)
    ax.set_xlabel("bit position (0 = least significant; fp32: fraction 0-22, exponent 23-30, sign 31)")
    ax.set_ylabel("tensor (network order)")
    ax.set_title(f"{pd.title}\nWald–Wolfowitz runs Z per bit (grey = constant bit; colours clipped at "
                 f"±{vmax:.0f}, max |Z| {np.nanmax(np.abs(z)):.0f})", fontsize=9)
    fig.colorbar(im, ax=ax, label="runs Z", extend="both")
    fig.tight_layout()
    return _save(fig, path, force)


def spectra(pd: PlotData, path: Path, force: bool = False) -> Path | None:
    if not pd.spectra:
        return None
    k = len(pd.spectra)
    fig, axes = _panel_grid(k)
    for ax, s in zip(axes.ravel(), pd.spectra):
        top = float(s.evals.max())
        bins = int(np.clip(s.evals.size // 4, 10, 80))
        ax.hist(s.evals, bins=bins, range=(0, max(top, s.edge) * 1.02), density=True, color="#c6dbef",
                label=f"eigenvalues of WᵀW/N ({s.shape[0]}×{s.shape[1]})")
        ax.plot(s.mp_x, s.mp_pdf, "r-", lw=1.5, label=f"Marchenko–Pastur (σ²={s.sigma2:.2e}, q={s.q:.2f})")
        ax.axvline(s.edge, color="r", ls=":", lw=1, label=f"MP edge; {s.n_spikes} eigenvalues > 1.05×edge")
        ax.set_yscale("log")
        ax.set_title(f"{_short(s.name)}\n{s.verdict}; top/edge = {top / s.edge:.2f}", fontsize=9,
                     color=COLORS.get(s.verdict, "k"))
        ax.set_xlabel("eigenvalue")
        ax.set_ylabel("density (log)")
        ax.legend(fontsize=7)
    for ax in axes.ravel()[k:]:
        ax.axis("off")
    fig.suptitle(f"{pd.title} — spectra vs Marchenko–Pastur", fontsize=10)
    fig.tight_layout()
    return _save(fig, path, force)


def scores(pd: PlotData, path: Path, force: bool = False) -> Path | None:
    if pd.scores.size == 0:
        return None
    plt = _plt()
    n = pd.scores.size
    fig, ax = plt.subplots(figsize=(min(max(7.0, 0.06 * n + 3), 16), 5.0))
    x = np.arange(n)
    for v in ("trained", "untrained", "undetermined"):
        m = np.array([vv == v for vv in pd.verdicts])
        if m.any():
            ax.scatter(x[m], pd.scores[m], s=16, color=COLORS[v], label=f"{v} ({int(m.sum())})", zorder=3)
    ax.plot(x, pd.scores, "-", color="#bbbbbb", lw=0.7, zorder=1)
    ax.axhline(0.5, color="k", ls=":", lw=0.8)
    step = max(1, math.ceil(n / 40))
    low = [i for i in range(n) if pd.verdicts[i] in ("untrained", "undetermined") and i % step]
    if 0 < len(low) <= 12 and len(low) < n / 2:       # name the few that stand out and have no tick label
        for i in low:
            ax.annotate(_short(pd.score_names[i], 32), (i, pd.scores[i]), xytext=(4, 6),
                        textcoords="offset points", fontsize=6, rotation=30, color=COLORS[pd.verdicts[i]])
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel("tensor index in network order")
    ax.set_ylabel("P(trained)")
    ax.set_xticks(x[::step])
    ax.set_xticklabels([_short(pd.score_names[i], 30) for i in x[::step]], rotation=75, fontsize=6, ha="right")
    ax.legend(fontsize=8, loc="best")
    ax.set_title(f"{pd.title} — score per tensor", fontsize=10)
    fig.tight_layout()
    return _save(fig, path, force)


def write_all(pd: PlotData, folder: str | Path, force: bool = False) -> list[Path]:
    """Write hist.png, bits_heatmap.png, spectra.png, scores.png under ``folder`` (created if missing)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for fn, name in ((histograms, "hist.png"), (bit_heatmap, "bits_heatmap.png"), (spectra, "spectra.png"),
                     (scores, "scores.png")):
        p = fn(pd, folder / name, force)
        if p is not None:
            out.append(p)
    return out
