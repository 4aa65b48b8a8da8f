"""The distributions init laws draw from (:mod:`paramstat.stats.initlaws` names them per law): std, CDF and
support of N(mu, s^2), N(0, s^2) truncated to the absolute interval [a, b], U(-b, b) and constants.

Truncated normal (Johnson, Kotz & Balakrishnan, *Continuous Univariate Distributions* 1, 1994, sec. 10.1):
with al = a/s, be = b/s, Z = Phi(be) - Phi(al),
  var / s^2 = 1 + (al phi(al) - be phi(be)) / Z - ((phi(al) - phi(be)) / Z)^2,
  F(x) = (Phi(x/s) - Phi(al)) / Z on [a, b].
"""
from __future__ import annotations

import math

import numpy as np

TN2_STD = 0.87962566103423978   # std of N(0, 1) truncated to (-2, 2): timm/Keras truncated-normal correction


def truncnorm_std(s: float, a: float, b: float) -> float:
    """Std of N(0, s^2) truncated to [a, b]: with al = a/s, be = b/s, Z = Phi(be) - Phi(al),
    var/s^2 = 1 + (al phi(al) - be phi(be))/Z - ((phi(al) - phi(be))/Z)^2."""
    from scipy.special import ndtr

    al, be = a / s, b / s
    phi = lambda t: np.exp(-0.5 * t * t) / np.sqrt(2 * np.pi)  # noqa: E731
    z = ndtr(be) - ndtr(al)
    v = 1 + (al * phi(al) - be * phi(be)) / z - ((phi(al) - phi(be)) / z) ** 2
    return float(s * np.sqrt(v))


def law_std(dist: str, p: dict) -> float:
    if dist == "uniform":
        return p["b"] / np.sqrt(3)
    if dist == "normal":
        return p["s"]
    if dist == "truncnorm":
        return truncnorm_std(p["s"], p["a"], p["b"])
    if dist == "constant":
        return 0.0
    return float("nan")


def law_cdf(dist: str, p: dict, x: np.ndarray, ndtr=None) -> np.ndarray:
    """CDF of the law at ``x`` (continuous laws only)."""
    if ndtr is None:
        from scipy.special import ndtr
    if dist == "uniform":
        return np.clip((x + p["b"]) / (2 * p["b"]), 0.0, 1.0)
    if dist == "normal":
        mu = p.get("mu", 0.0)
        return ndtr(x / p["s"]) if mu == 0.0 else ndtr((x - mu) / p["s"])
    if dist == "truncnorm":
        s, a, b = p["s"], p["a"], p["b"]
        lo, hi = ndtr(a / s), ndtr(b / s)
        return np.clip((ndtr(np.clip(x, a, b) / s) - lo) / (hi - lo), 0.0, 1.0)
    raise ValueError(dist)


def support(dist: str, p: dict) -> tuple[float, float]:
    """Interval holding every drawn value (inf for normals)."""
    if dist == "uniform":
        return -p["b"], p["b"]
    if dist == "truncnorm":
        return p["a"], p["b"]
    if dist == "constant":
        return p["c"], p["c"]
    return -math.inf, math.inf


def tn2_params(s: float) -> dict:
    """s' TN(-2, 2) with s' = s / 0.8796 (std s): timm variance_scaling_/lecun_normal_, Keras truncated."""
    sp = s / TN2_STD
    return {"s": sp, "a": -2 * sp, "b": 2 * sp}
