"""Wald–Wolfowitz runs test (BRIEF §2), exact in float64 and overflow-safe at any n.

For a 0/1 sequence of length n with n1 ones, n0 = n - n1 and R runs (R = 1 + #transitions):
    mu  = 2 n0 n1 / n + 1
    var = 2 n0 n1 (2 n0 n1 - n) / (n^2 (n - 1))      (= (mu-1)(mu-2)/(n-1))
    Z   = (R - mu) / sqrt(var),   p = 2 * (1 - Phi(|Z|))      (no continuity correction)
The product n0*n1 is formed in float64 (never int64: it overflows at model sizes, BRIEF §2).
A constant sequence (n1 in {0, n}) has no Z: ``constant=True`` and z = p = NaN.
This is statsmodels' ``runstest_1samp(x, cutoff, correction=False)`` including its binarisation
``x >= cutoff``, minus its fake Z for constant sequences.

Pooled tests over several slices (``axis_runs``): the 0/1 sequences of the slices are tested
together with transitions counted only *within* a slice; R, mu and var are the sums of the
per-slice values (each slice conditioned on its own n1), so Z = (sum R_s - sum mu_s) / sqrt(sum var_s).
Constant slices and slices of length 1 contribute R_s = mu_s = 1, var_s = 0.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass
class RunsResult:
    n: int
    n1: int
    runs: int
    z: float
    p: float
    constant: bool
    n_slices: int = 1  # > 1 for pooled tests (axis_runs)

    def to_dict(self) -> dict:
        return {k: (float(v) if isinstance(v, float | np.floating) else v) for k, v in asdict(self).items()}


def _norm_sf2(z):
    """Two-sided normal p-value 2*(1-Phi(|z|)) = erfc(|z|/sqrt 2) (math.erfc: no scipy import, which
    costs ~0.3-1 s on first use; the arrays here hold at most 64 values)."""
    from math import erfc, isnan, sqrt

    a = np.asarray(z, dtype=np.float64)
    out = np.array([float("nan") if isnan(v) else erfc(abs(v) / sqrt(2.0)) for v in a.reshape(-1)])
    return out.reshape(a.shape) if a.ndim else float(out[0])


def runs_moments(n, n1):
    """(mu, var) of the number of runs given n and n1 (arrays or scalars), float64.

    Elementwise; var is 0 where the sequence is constant or n < 2."""
    n = np.asarray(n, dtype=np.float64)
    n1 = np.asarray(n1, dtype=np.float64)
    npn = n1 * (n - n1)
    with np.errstate(divide="ignore", invalid="ignore"):
        mu = np.where(n > 0, 2.0 * npn / n + 1.0, 1.0)
        var = np.where((npn > 0) & (n > 1), 2.0 * npn * (2.0 * npn - n) / n**2.0 / (n - 1.0), 0.0)
    return mu, var


def runs_z_from_counts(n, n1, runs):
    """Vectorized Z, p and constant flag from counts (n, n1, runs); float64, overflow-safe.

    Works on Python ints beyond 2**63 too (they are converted to float64 before any product)."""
    n_f = np.asarray(n, dtype=np.float64)
    n1_f = np.asarray(n1, dtype=np.float64)
    r_f = np.asarray(runs, dtype=np.float64)
    constant = (n1_f <= 0) | (n1_f >= n_f)
    mu, var = runs_moments(n_f, n1_f)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(var > 0, (r_f - mu) / np.sqrt(np.where(var > 0, var, 1.0)), np.nan)
    z = np.where(constant, np.nan, z)
    p = np.where(np.isnan(z), np.nan, _norm_sf2(np.nan_to_num(z)))
    return z, p, constant


def _result(n: int, n1: int, runs: int, mu: float | None = None, var: float | None = None,
            n_slices: int = 1) -> RunsResult:
    constant = n1 <= 0 or n1 >= n
    if mu is None:
        z, p, _ = runs_z_from_counts(n, n1, runs)
        z, p = float(z), float(p)
    elif constant or var <= 0:
        z = p = float("nan")
    else:
        z = (runs - mu) / np.sqrt(var)
        p = float(_norm_sf2(z))
    return RunsResult(int(n), int(n1), int(runs), float(z), float(p), bool(constant), n_slices)


def runs_test(b) -> RunsResult:
    """Wald–Wolfowitz runs test of a 0/1 (bool) sequence, flattened in C order."""
    b = np.ascontiguousarray(b).reshape(-1).astype(bool, copy=False)
    n = b.size
    if n == 0:
        return RunsResult(0, 0, 0, float("nan"), float("nan"), True)
    n1 = int(np.count_nonzero(b))
    runs = 1 + int(np.count_nonzero(b[1:] != b[:-1]))
    return _result(n, n1, runs)


def _cutoff(x: np.ndarray, about) -> float:
    if isinstance(about, str):
        if about == "median":
            return float(np.median(x))
        if about == "mean":
            return float(np.mean(x, dtype=np.float64))
        raise ValueError(f"about must be 'median', 'mean' or a number, not {about!r}")
    return float(about)


def value_runs(x, about="median") -> RunsResult:
    """Runs test of ``x >= cutoff`` in memory (C) order; cutoff = median, mean or a number
    (statsmodels' binarisation)."""
    x = np.asarray(x)
    if x.size == 0:
        return RunsResult(0, 0, 0, float("nan"), float("nan"), True)
    return runs_test(x >= _cutoff(x, about))


def pooled_runs(b2d) -> RunsResult:
    """Pooled runs test over the rows of a 2-D 0/1 array: transitions only within rows,
    R, mu, var summed over rows (see module docstring)."""
    b2d = np.asarray(b2d, dtype=bool)
    if b2d.ndim != 2:
        raise ValueError("pooled_runs expects a 2-D array (slices x length)")
    m, L = b2d.shape
    n = m * L
    if n == 0:
        return RunsResult(0, 0, 0, float("nan"), float("nan"), True, m)
    n1_s = np.count_nonzero(b2d, axis=1)
    runs = m + int(np.count_nonzero(b2d[:, 1:] != b2d[:, :-1]))
    # every slice has length L: mu_s and var_s depend only on n1_s in 0..L -> sum via its histogram
    hist = np.bincount(n1_s, minlength=L + 1).astype(np.float64)
    mu_t, var_t = runs_moments(np.full(L + 1, L), np.arange(L + 1))
    n1 = int(n1_s.sum())
    mu, var = float(hist @ mu_t), float(hist @ var_t)
    res = _result(n, n1, runs, mu, var, m)
    if not res.constant and var <= 0:
        res.constant = True  # every slice constant on its own: no within-slice information
    return res


def axis_runs(x, about="median") -> dict[str, RunsResult]:
    """Value runs about one global cutoff (median of the whole tensor) along each axis, pooled.

    Sequences (PyTorch layouts):
      ndim >= 3 (conv (out, in, *k)): 'kernel' = each (o, i) filter flattened over *k in C order;
        'in_channels' = for each (o, *k position) the sequence over i; 'out_channels' = for each
        (i, *k position) the sequence over o.
      ndim == 2 (linear (out, in)): 'in_channels' = each row (over in); 'out_channels' = each column.
      ndim <= 1: 'memory' = the whole vector.
    """
    x = np.asarray(x)
    if x.ndim <= 1:
        return {"memory": value_runs(x.reshape(-1), about)}
    b = x >= _cutoff(x, about)
    out: dict[str, RunsResult] = {}
    if x.ndim >= 3:
        out["kernel"] = pooled_runs(b.reshape(x.shape[0] * x.shape[1], -1))
    out["in_channels"] = pooled_runs(np.moveaxis(b, 1, -1).reshape(-1, x.shape[1]))
    out["out_channels"] = pooled_runs(np.moveaxis(b, 0, -1).reshape(-1, x.shape[0]))
    return out
