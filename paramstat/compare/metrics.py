"""Per-pair statistics derived from the fused sums (exact) and from paired deterministic subsamples.

Exact, full data (paramstat.compare.kernel): with p = x - s_a, S_k = sum p^k over n finite pairs,
  mean = s_a + S1/n, m2 = S2/n - (S1/n)^2, m3 = S3/n - 3 m1 S2/n + 2 m1^3,
  m4 = S4/n - 4 m1 S3/n + 6 m1^2 S2/n - 3 m1^4 (m1 = S1/n), std = sqrt(m2) (population),
  skew = m3 / m2^1.5, excess kurtosis = m4 / m2^2 - 3 (scipy.stats.kurtosis, fisher, biased);
  rel_change = ||B - A|| / ||A|| (0 when both are zero, inf when only A is zero);
  cosine = <A,B> / (||A|| ||B||); Pearson corr = (C/n - m1a m1b) / (std_a std_b).
Subsample (stats.sampling keyed by (seed, name): the same indices in A and B, at most `subsample`
elements): KS D and Wasserstein-1 between the two value distributions, robust statistics
(stats.moments.robust), histograms.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..dtypes import as_float
from ..stats import sampling
from ..stats.moments import MAD_TO_STD_4, MOORS_NORMAL_4, Robust
from ..stats.moments import robust as robust_moments
from .kernel import PairSums


@dataclass
class MomentsLite:
    mean: float
    std: float
    skew: float
    kurt: float


def moments_from_sums(n: int, shift: float, s1: float, s2: float, s3: float, s4: float) -> MomentsLite:
    if n == 0:
        return MomentsLite(math.nan, math.nan, math.nan, math.nan)
    m1 = s1 / n
    m2 = max(s2 / n - m1 * m1, 0.0)
    m3 = s3 / n - 3 * m1 * s2 / n + 2 * m1 ** 3
    m4 = s4 / n - 4 * m1 * s3 / n + 6 * m1 * m1 * s2 / n - 3 * m1 ** 4
    # m2 = S2/n - m1^2 loses ~1e-16 m1^2 to rounding: below 1e-12 m1^2 it is noise (a constant tensor)
    if m2 <= 1e-12 * m1 * m1:
        return MomentsLite(shift + m1, 0.0, math.nan, math.nan)
    return MomentsLite(shift + m1, math.sqrt(m2), m3 / m2 ** 1.5, m4 / (m2 * m2) - 3.0)


def pair_moments(s: PairSums) -> tuple[MomentsLite, MomentsLite]:
    return (moments_from_sums(s.n_finite, s.shift_a, s.s1a, s.s2a, s.s3a, s.s4a),
            moments_from_sums(s.n_finite, s.shift_b, s.s1b, s.s2b, s.s3b, s.s4b))


def rel_change(s: PairSums) -> float:
    if s.xx > 0:
        return math.sqrt(s.dd / s.xx)
    return 0.0 if s.dd == 0 else math.inf


def cosine(s: PairSums) -> float:
    den = math.sqrt(s.xx) * math.sqrt(s.yy)
    if den == 0:
        return 1.0 if s.xx == 0 and s.yy == 0 else math.nan
    return max(-1.0, min(1.0, s.xy / den))


def pearson(s: PairSums, ma: MomentsLite, mb: MomentsLite) -> float:
    if not (ma.std > 0 and mb.std > 0):
        return math.nan
    n = s.n_finite
    cov = s.cab / n - (s.s1a / n) * (s.s1b / n)
    return max(-1.0, min(1.0, cov / (ma.std * mb.std)))


# ------------------------------------------------------------------------------------ subsamples
def subsample_index(n: int, k: int, key: str, seed: int = 0) -> np.ndarray | None:
    """Sorted indices of a deterministic sample of k of n positions (with replacement; None = all).
    Seeded by (seed, name), so A and B get the same positions and reruns give the same numbers."""
    return sampling.sample_index(n, k, seed=seed, key=key, sort=True)


def take(raw: np.ndarray, dtype: str, idx: np.ndarray | None) -> np.ndarray:
    """Values (float64) at idx of the flattened stored array (all values when idx is None)."""
    flat = np.ascontiguousarray(raw).reshape(-1) if idx is None else np.asarray(raw).reshape(-1)
    sel = flat if idx is None else flat[idx]
    v = as_float(sel, dtype).astype(np.float64)
    return v[np.isfinite(v)]


def ks_w1(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Two-sample KS statistic D = sup |F_x - F_y| and Wasserstein-1 = integral |F_x - F_y|
    (scipy.stats.ks_2samp(...).statistic and scipy.stats.wasserstein_distance, computed from one sort)."""
    if x.size == 0 or y.size == 0:
        return math.nan, math.nan
    xs, ys = np.sort(x), np.sort(y)
    allv = np.concatenate([xs, ys])
    allv.sort(kind="mergesort")
    fx = np.searchsorted(xs, allv, side="right") / xs.size
    fy = np.searchsorted(ys, allv, side="right") / ys.size
    d = float(np.max(np.abs(fx - fy)))
    w1 = float(np.sum(np.abs(fx - fy)[:-1] * np.diff(allv)))
    return d, w1


def robust(x: np.ndarray) -> Robust:
    """paramstat.stats.moments.robust with compare's published 4-digit constants (1.4826, 1.2331)."""
    return robust_moments(x, MAD_TO_STD_4, MOORS_NORMAL_4)


def histograms(x: np.ndarray, y: np.ndarray, bins: int = 64) -> dict:
    """Shared-edge histograms of the two subsamples, clipped to the 0.1-99.9 % range of both."""
    both = np.concatenate([x, y])
    if both.size == 0:
        return {"edges": [], "a": [], "b": []}
    lo, hi = np.quantile(both, [0.001, 0.999])
    if not hi > lo:
        lo, hi = float(both.min()) - 0.5, float(both.max()) + 0.5
    edges = np.linspace(lo, hi, bins + 1)
    return {"edges": edges.tolist(), "a": np.histogram(x, edges)[0].tolist(),
            "b": np.histogram(y, edges)[0].tolist()}


# ------------------------------------------------------------------------------- deep statistics
def matrix_view(raw: np.ndarray, dtype: str, shape: tuple[int, ...], max_rows: int, max_cols: int,
                key: str, seed: int = 0) -> tuple[np.ndarray, tuple[int, int]] | None:
    """The weight as a matrix (conv: (out, in/groups*kh*kw)), restricted to a deterministic random
    subset of at most max_rows x max_cols (rows/cols chosen without replacement; same for A and B; what
    such a crop's spectrum says about the whole matrix: stats.spectral, 'Sketch error bound').
    Returns (float64 matrix, full shape) or None for tensors that are not matrices."""
    if len(shape) < 2 or shape[0] < 2:
        return None
    rows, cols = int(shape[0]), int(np.prod(shape[1:]))
    if cols < 2:
        return None
    m = np.asarray(raw).reshape(rows, cols)
    sub = sampling.crop(m, max_rows, max_cols, seed=seed, key=key, streams=(7,))
    return as_float(np.ascontiguousarray(sub), dtype).astype(np.float64), (rows, cols)


def fit_summary(x: np.ndarray, seed: int, subsample: int) -> dict | None:
    """Best family by BIC and its parameters (paramstat.stats.fits), or None for tiny / constant x."""
    from ..stats.fits import fit_families

    if x.size < 8 or not np.std(x) > 0:
        return None
    rep = fit_families(x, seed=seed, subsample=subsample)
    best = next((f for f in rep.fits if f.family == rep.best), None)
    if best is None:
        return {"family": rep.best, "params": None}
    params = best.params if isinstance(best.params, dict) else list(np.atleast_1d(best.params))
    return {"family": rep.best, "params": params, "ks_d": getattr(best, "ks_d", None),
            "bic": getattr(best, "bic", None)}


def spectral_summary(w: np.ndarray, seed: int) -> dict | None:
    """Spikes above the Marchenko-Pastur edge (paramstat.stats.spectral), or None for non-finite / constant w."""
    from ..stats.spectral import spectral

    if not np.all(np.isfinite(w)) or not np.std(w) > 0:
        return None
    sp = spectral(w, seed=seed)
    return {"n_spikes": int(sp.n_spikes), "top_over_edge": float(sp.top_over_edge),
            "shuffle_distance": float(getattr(sp, "shuffle_distance", math.nan))}
