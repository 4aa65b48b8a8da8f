"""matplotlib figures for probes and start-training runs (Agg backend, atomic PNG writes)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .png import pyplot, save_png


def plot_probe(result: dict, path: str | Path, force: bool = False) -> Path:
    """Four panels vs layer index: M_j (log), Var M_j (log), saturation share, Var(dL/d act) (log)."""
    plt = pyplot()
    layers = result["layers"]
    idx = [lp["index"] for lp in layers]
    fig, ax = plt.subplots(2, 2, figsize=(10, 7))
    panels = [("M", "M_j = ||act||^2 / n_j (batch mean)", True), ("M_var", "Var over inputs of M_j (FM2)", True),
              ("sat_frac", "saturated / inactive share", False), ("grad_var", "Var(dL / d act_j)", True)]
    for a, (key, title, log) in zip(ax.ravel(), panels):
        v = np.array([np.nan if lp[key] is None else lp[key] for lp in layers], dtype=float)
        a.plot(idx, v, "o-", ms=3)
        if log and np.nanmin(np.where(v > 0, v, np.nan), initial=np.inf) < np.inf:
            a.set_yscale("log")
        a.set_title(title, fontsize=10)
        a.set_xlabel("layer (probe point)")
    fig.suptitle(f"probe {result.get('model', '')} init={result.get('init', '')} act={result.get('act', '')} "
                 f"data={result.get('data', '')}  beta={result['beta']:.3g}", fontsize=10)
    fig.tight_layout()
    return save_png(fig, path, force)


def plot_curves(result: dict, path: str | Path, force: bool = False) -> Path:
    """Test accuracy vs step, one colour per init, one line per seed; the target as a dashed line."""
    plt = pyplot()
    fig, a = plt.subplots(figsize=(7, 4.5))
    inits = list(dict.fromkeys(r["init"] for r in result["runs"]))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k, init in enumerate(inits):
        for j, r in enumerate(x for x in result["runs"] if x["init"] == init):
            s, acc = zip(*r["curve"])
            a.plot(s, acc, color=colours[k % len(colours)], alpha=0.7, lw=1, label=init if j == 0 else None)
    a.axhline(result["config"]["target"], ls="--", color="grey", lw=1)
    a.set_xlabel("training step")
    a.set_ylabel("test accuracy")
    c = result["config"]
    a.set_title(f"{c['arch']} {c['act']} on {c['data']} ({c['optim']} lr={c['lr']}, batch {c['batch_size']})",
                fontsize=10)
    a.legend(fontsize=8)
    fig.tight_layout()
    return save_png(fig, path, force)
