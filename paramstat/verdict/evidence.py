"""The human sentence beside each feature's contribution (the evidence a report prints)."""
from __future__ import annotations

import math

from .features import Features


def evidence_text(name: str, value: float, feats: Features) -> str:
    """One sentence on feature ``name`` (value ``value``) of the tensor behind ``feats``."""
    s = feats.stats
    sig = s.get("signature") or {}
    spec = s.get("spectral") or {}
    mom = s.get("moments") or {}
    runs = s.get("runs") or {}
    if name == "sig_ks_stat":
        return f"closest init law {sig.get('best')}: KS D={sig.get('ks_d', float('nan')):.4f} (D*sqrt(n)={10 ** value:.2f})"
    if name == "sig_scale_logratio":
        return f"std is {sig.get('scale_ratio', float('nan')):.3f}x the std of {sig.get('best')}"
    if name == "free_ks_stat":
        ff = s.get("free_fit") or {}
        return (f"shape: KS D={min(ff.get('normal_ks_d', 1), ff.get('uniform_ks_d', 1)):.4f} against a "
                f"{ff.get('best')} of its own scale")
    if name == "robust_kurt":
        return f"robust (quantile) tail weight {mom.get('robust_kurt', value):.3f} (normal 0, uniform < 0)"
    if name == "kurt":
        return f"excess kurtosis {mom.get('kurt', value):.2f} (fresh normal 0, uniform -1.2, trained 1.4-9)"
    if name == "runs_z":
        return f"runs about the median in memory order: Z={runs.get('z', value):.2f}"
    if name == "runs_r":
        return f"runs Z/sqrt(n) = {value:.4f}"
    if name == "axis_runs_z":
        return f"most negative runs Z along a conv axis: {value:.2f}"
    if name in ("spike_frac", "top_over_edge_log", "shuffle_distance") and not spec:
        return f"spectrum not measured (matrix side {feats.notes.get('no_spectrum', '?')} < 8): scored as 0"
    if name == "spike_frac":
        return (f"{spec.get('n_spikes', 0)} of {spec.get('rank', 0)} eigenvalues above the Marchenko-Pastur "
                f"edge")
    if name == "top_over_edge_log":
        return f"top eigenvalue {spec.get('top_over_edge', math.exp(value)):.2f}x the MP edge"
    if name == "shuffle_distance":
        return f"spectrum distance to the shuffled matrix {value:.3f}"
    if name == "bit0_dev":
        return f"P(fraction bit 0 = 1) = {feats.notes.get('bit0_freq', float('nan')):.3f} (fresh normal ~0.33, trained ~0.50)"
    if name == "bit1_dev":
        return f"P(fraction bit 1 = 1) = {feats.notes.get('bit1_freq', float('nan')):.3f} (fresh normal ~0.60, trained ~0.50)"
    if name == "mean_over_std":
        return f"|mean|/std = {value:.3f}"
    if name == "beyond_bound":
        return f"max |x| is {value + 1:.3f}x the U(+-1/sqrt(fan_in)) bound"
    return f"{name} = {value:.4g}"
