"""Plain and robust moments of a tensor's values (all accumulated in float64).

Plain: mean, std (ddof=0), skew = m3 / m2^1.5, excess kurtosis kurt = m4 / m2^2 - 3 (central moments,
biased: scipy.stats.skew / kurtosis defaults).
Robust (one outlier cannot move them; BRIEF §3: a single ±2.0 from trunc_normal_ makes plain kurt 130):
  median, mad = median |x - median|, robust_std = 1.482602 * mad (consistent for the normal),
  tail_weight = [(q99.5 - q0.5) / (q75 - q25)] / 3.818 (normal 1, uniform 0.518, Laplace 1.74, t3 2.0),
  robust_kurt = Moors (1988) octile kurtosis [(E7 - E5) + (E3 - E1)] / (E6 - E2) - 1.2331
  (E_k = k/8 quantile; normal 0, uniform -0.233, Laplace 0.352, t3 0.17), quantiles linearly interpolated.
Robust values are exact up to 2^21 values; larger tensors use a seeded uniform subsample of 2^20
values (stats.sampling.subsample: default_rng(seed), with replacement; recorded as ``robust_n``): the quantile
error is then ~1e-3 sigma, far below trained/fresh differences, and the cost stays < 0.1 s.
``robust(x, mad_to_std, moors_normal)``: the same robust statistics on all of x (median by np.median),
for callers that subsample themselves (compare, with its published 4-digit constants).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from . import blas
from .sampling import subsample

_Z995 = 2.5758293035489004   # Phi^-1(0.995)
_Z75 = 0.6744897501960817    # Phi^-1(0.75)
_Z875 = 1.1503493803760079   # Phi^-1(0.875)
_Z625 = 0.3186393639643752   # Phi^-1(0.625)
TAIL_NORMAL = _Z995 / _Z75                       # 3.8189...
MOORS_NORMAL = 2 * (_Z875 - _Z625) / (2 * _Z75)  # 1.2330...
MAD_TO_STD = 1.0 / _Z75                          # 1.4826...
# Rounded forms older callers were published with (kept so their numbers stay as they are):
MAD_TO_STD_4, MOORS_NORMAL_4 = 1.4826, 1.2331    # compare's robust statistics
MAD_TO_STD_6 = 1.482602                          # fits: the t fit's starting scale
OCTILES = (1 / 8, 2 / 8, 3 / 8, 5 / 8, 6 / 8, 7 / 8)

_QS = np.array([0.005, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 0.995])


@dataclass
class Moments:
    n: int
    mean: float
    std: float
    skew: float
    kurt: float          # excess
    median: float
    mad: float
    robust_std: float
    robust_kurt: float   # Moors, excess-like (normal 0)
    tail_weight: float   # normal 1
    min: float
    max: float
    robust_n: int = 0    # values the robust statistics used (n, or the subsample size)

    def to_dict(self) -> dict:
        return {k: (int(v) if k in ("n", "robust_n") else float(v)) for k, v in asdict(self).items()}


ROBUST_EXACT_MAX = 1 << 21
_CHUNK = 1 << 20
ROBUST_SUBSAMPLE = 1 << 20


def moments(x, seed: int = 0) -> Moments:
    """Moments of the finite values of ``x`` (any shape; NaN/Inf dropped). Empty -> NaNs."""
    x = np.asarray(x).reshape(-1)
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    fin = np.isfinite(x)
    if not fin.all():
        x = x[fin]
    n = int(x.size)
    if n == 0:
        nan = float("nan")
        return Moments(0, nan, nan, nan, nan, nan, nan, nan, nan, nan, nan, nan)
    mean = float(np.mean(x, dtype=np.float64))
    s2 = s3 = s4 = 0.0
    with blas.limit(1):  # the dots on one BLAS thread (stats.blas: a second one stalls on a busy machine)
        for lo in range(0, n, _CHUNK):  # central moments in float64, 1M values at a time (bounded memory)
            d = x[lo: lo + _CHUNK].astype(np.float64) - mean
            d2 = d * d
            s2 += float(d2.sum())
            s3 += float(np.dot(d2, d))
            s4 += float(np.dot(d2, d2))
    m2, m3, m4 = s2 / n, s3 / n, s4 / n
    if m2 > 0:
        skew, kurt = m3 / m2**1.5, m4 / m2**2 - 3.0
    else:
        skew = kurt = float("nan")
    r = x
    if n > ROBUST_EXACT_MAX:
        r = subsample(x, ROBUST_SUBSAMPLE, seed=seed)
    q = np.quantile(r, _QS)
    q005, e1, q25, e3, med, e5, q75, e7, q995 = (float(v) for v in q)
    mad = median_abs_dev(r, med)
    iqr = q75 - q25
    tail = ((q995 - q005) / iqr) / TAIL_NORMAL if iqr > 0 else float("nan")
    rk = moors_kurtosis((e1, q25, e3, e5, q75, e7))  # E2 = q(2/8), E6 = q(6/8)
    return Moments(n, mean, float(np.sqrt(m2)), skew, kurt, med, mad, MAD_TO_STD * mad, rk, tail,
                   float(x.min()), float(x.max()), int(r.size))


def median_abs_dev(x: np.ndarray, med: float) -> float:
    """MAD = median |x - med| (med rounded to x's dtype first)."""
    return float(np.median(np.abs(x - x.dtype.type(med))))


def moors_kurtosis(e, normal: float = MOORS_NORMAL) -> float:
    """Moors (1988): [(E7 - E5) + (E3 - E1)] / (E6 - E2) - normal, from the octiles (E1, E2, E3, E5, E6,
    E7); NaN when E6 <= E2."""
    e1, e2, e3, e5, e6, e7 = e
    return ((e7 - e5) + (e3 - e1)) / (e6 - e2) - normal if e6 > e2 else float("nan")


@dataclass
class Robust:
    median: float
    robust_std: float    # mad_to_std * MAD
    robust_kurt: float   # Moors' octile kurtosis minus its normal value (0 for a normal)


def robust(x: np.ndarray, mad_to_std: float = MAD_TO_STD, moors_normal: float = MOORS_NORMAL) -> Robust:
    """Median (np.median), scaled MAD and Moors kurtosis of all of x (no subsample); NaNs when empty."""
    if x.size == 0:
        nan = float("nan")
        return Robust(nan, nan, nan)
    med = float(np.median(x))
    rk = moors_kurtosis(np.quantile(x, OCTILES), moors_normal)
    return Robust(med, mad_to_std * median_abs_dev(x, med), float(rk))
