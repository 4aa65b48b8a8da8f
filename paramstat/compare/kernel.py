"""One fused pass over a pair of same-shape tensors: every exact (full-data) pairwise sum at once.

For each pair (x_i from A, y_i from B), finite pairs only, accumulated in float64:
  shifted power sums  S_k(A) = sum (x - s_a)^k, S_k(B) = sum (y - s_b)^k, k = 1..4
  (s = a shift near the mean, from the subsample: keeps the central moments stable),
  cross sum  C = sum (x - s_a)(y - s_b);  raw  sum x^2, sum y^2, sum x*y, sum (y - x)^2;
  max |y - x|; #(x == y);  and on the stored bits u_a, u_b:
  #(u_a == u_b), byte histograms of u_a ^ u_b (-> per-bit flip counts), OR of all u_a / u_b
  (bits ever set: a bf16 history of an fp32 tensor shows as 16 low bits never set).

Fast path: numba (stats._numba: loader, PARAMSTAT_NO_NUMBA switch, threads; the bit counters are
stats._popcount_nb's), chunks in parallel, no temporaries: peak memory is the two input arrays. 16-bit dtypes go through a 65,536-entry float table (bf16/fp16 -> float32).
Fallback: numpy on chunks of 1M elements (same sums, a few temporaries of chunk size).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..dtypes import as_float
from ..stats import _numba

CHUNK = 1 << 20
NUMBA_MIN = 1 << 18  # smaller pairs go through numpy (stats._numba.worth): no compile for small models
_NACC = 16  # accumulator slots, see _ACC_NAMES
_ACC_NAMES = ("s1a", "s2a", "s3a", "s4a", "s1b", "s2b", "s3b", "s4b", "cab", "xx", "yy", "xy", "dd")


@dataclass
class PairSums:
    n: int                 # elements
    n_finite: int          # pairs where both values are finite (the sums run over these)
    shift_a: float
    shift_b: float
    s1a: float
    s2a: float
    s3a: float
    s4a: float
    s1b: float
    s2b: float
    s3b: float
    s4b: float
    cab: float
    xx: float
    yy: float
    xy: float
    dd: float
    max_abs_diff: float
    n_value_equal: int     # x == y (finite pairs; -0 == +0)
    n_bits_equal: int      # stored bits equal (None-like -1 when the dtypes differ)
    flips: np.ndarray | None  # per bit position (0 = LSB): how many elements flipped it; None if dtypes differ
    or_a: int              # OR over all stored words of A (which bits are ever set)
    or_b: int


def _table(dtype: str) -> np.ndarray:
    u = np.arange(65536, dtype=np.uint16)
    if dtype == "bfloat16":
        return as_float(u, "bfloat16").astype(np.float32)
    return u.view(np.float16).astype(np.float32)


_TABLES: dict[str, np.ndarray] = {}


def table(dtype: str) -> np.ndarray:
    if dtype not in _TABLES:
        _TABLES[dtype] = _table(dtype)
    return _TABLES[dtype]


# ----------------------------------------------------------------------------------------- numba path
_MOD = "paramstat.compare._kernel_nb"


def get_kernel():
    """The compiled kernel, or None (numpy path: PARAMSTAT_NO_NUMBA=1, numba missing or broken)."""
    mod = _numba.load(_MOD)
    return None if mod is None else mod._run


# ------------------------------------------------------------------------------------------ helpers
_UINT = {2: np.uint16, 4: np.uint32, 8: np.uint64}


def _bits(arr: np.ndarray, dtype: str) -> np.ndarray:
    a = np.ascontiguousarray(arr).reshape(-1)
    if dtype == "bfloat16":
        return a.view(np.uint16)
    return a.view(_UINT[a.dtype.itemsize])


def _flips_from_hist(hist: np.ndarray, nbytes: int) -> np.ndarray:
    """hist[k, v] = #elements whose xor has byte k == v  ->  flips per bit position (8*nbytes)."""
    bits = ((np.arange(256)[:, None] >> np.arange(8)[None, :]) & 1).astype(np.int64)
    out = np.zeros(8 * nbytes, dtype=np.int64)
    for k in range(nbytes):
        out[8 * k: 8 * k + 8] = hist[k] @ bits
    return out


def _common_values(ra, da, rb, db):
    """(va, vb, ua, ub, same_dtype): values in a common float dtype and the bit words to XOR."""
    same = da == db
    if same:
        ua, ub = _bits(ra, da), _bits(rb, db)
        if da in ("bfloat16", "float16"):
            return None, None, ua, ub, True
        va = np.ascontiguousarray(ra).reshape(-1)
        vb = np.ascontiguousarray(rb).reshape(-1)
        return va, vb, ua, ub, True
    wide = np.float64 if "float64" in (da, db) else np.float32
    va = np.ascontiguousarray(as_float(ra, da), dtype=wide).reshape(-1)
    vb = np.ascontiguousarray(as_float(rb, db), dtype=wide).reshape(-1)
    return va, vb, _bits(va, str(va.dtype)), _bits(vb, str(vb.dtype)), False


def pair_sums(ra: np.ndarray, da: str, rb: np.ndarray, db: str, shift_a: float = 0.0, shift_b: float = 0.0,
              use_numba: bool | None = None) -> PairSums:
    """All exact pairwise sums of one tensor pair (stored arrays + dtype names, same number of elements)."""
    va, vb, ua, ub, same = _common_values(ra, da, rb, db)
    n = ua.size
    if vb is not None and vb.size != n or ub.size != n:
        raise ValueError("pair_sums: the two tensors have different sizes")
    nbytes = ua.dtype.itemsize
    use_table = va is None
    want = use_numba is True or (use_numba is None and _numba.worth(n, big=NUMBA_MIN))
    kern = get_kernel() if want else None
    if use_numba is True and kern is None:
        raise RuntimeError(f"numba kernel unavailable: {_numba.error(_MOD)}")
    if kern is not None and n >= 1:
        acc, flips_all, n_fin, n_eq, n_beq, or_a, or_b, md = _numba_sums(kern, va, vb, ua, ub, da, db,
                                                                          use_table, shift_a, shift_b)
    else:
        acc, hist, n_fin, n_eq, n_beq, or_a, or_b, md = _numpy_sums(va, vb, ua, ub, da, db, use_table,
                                                                     shift_a, shift_b)
        flips_all = _flips_from_hist(hist, nbytes)
    flips = flips_all if same else None
    return PairSums(n, n_fin, float(shift_a), float(shift_b), *(float(v) for v in acc[:13]),
                    max_abs_diff=md, n_value_equal=n_eq, n_bits_equal=n_beq if same else -1, flips=flips,
                    or_a=or_a, or_b=or_b)


def _words(u: np.ndarray) -> np.ndarray:
    """uint64 view of a contiguous unsigned array whose size fills whole words (copy if misaligned)."""
    if u.ctypes.data % 8:
        u = u.copy()
    return u.view(np.uint64)


def _numba_sums(kern, va, vb, ua, ub, da, db, use_table, sa, sb):
    n = ua.size
    e = 8 * ua.dtype.itemsize
    epw = 64 // e
    nfull = n // epw * epw
    wa, wb = _words(ua[:nfull]), _words(ub[:nfull])
    ta = table(da) if use_table else np.zeros(1, np.float32)
    tb = table(db) if use_table else np.zeros(1, np.float32)
    va_ = va if va is not None else np.zeros(1, np.float32)
    vb_ = vb if vb is not None else np.zeros(1, np.float32)
    nchunks = max(1, min(4 * _numba.n_threads(), n // (1 << 18) or 1))
    acc, bitcnt, cnt, ors, maxd = kern(va_, vb_, ua, ub, wa, wb, ta, tb, use_table, float(sa), float(sb), e,
                                       nchunks)
    flips = np.zeros(e, dtype=np.int64)
    np.add.at(flips, np.arange(64) % e, bitcnt.sum(axis=0).astype(np.int64))
    n_diff = int(cnt[:, 2].sum())
    mask = (1 << e) - 1
    or_a = or_b = 0
    for w, which in ((int(np.bitwise_or.reduce(ors[:, 0])), 0), (int(np.bitwise_or.reduce(ors[:, 1])), 1)):
        folded = 0
        for lane in range(epw):
            folded |= (w >> (lane * e)) & mask
        if which == 0:
            or_a = folded
        else:
            or_b = folded
    if nfull < n:  # elements after the last whole word
        ta_, tb_ = ua[nfull:], ub[nfull:]
        x = ta_ ^ tb_
        n_diff += int(np.count_nonzero(x))
        flips += _flips_from_hist(_byte_hist(x), ua.dtype.itemsize)
        or_a |= int(np.bitwise_or.reduce(ta_))
        or_b |= int(np.bitwise_or.reduce(tb_))
    return (acc.sum(axis=0), flips, int(cnt[:, 0].sum()), int(cnt[:, 1].sum()), n - n_diff, or_a, or_b,
            float(maxd.max()))


def _byte_hist(w: np.ndarray) -> np.ndarray:
    """hist[k, v]: how many non-zero words have byte k == v."""
    nbytes = w.dtype.itemsize
    hist = np.zeros((8, 256), dtype=np.int64)
    wz = np.ascontiguousarray(w[w != 0])
    by = wz.view(np.uint8).reshape(-1, nbytes)
    for k in range(nbytes):
        hist[k] += np.bincount(by[:, k], minlength=256)
    return hist


def _numpy_sums(va, vb, ua, ub, da, db, use_table, sa, sb):
    n = ua.size
    acc = np.zeros(_NACC, dtype=np.float64)
    hist = np.zeros((8, 256), dtype=np.int64)
    n_fin = n_eq = n_beq = 0
    or_a = or_b = 0
    md = 0.0
    for lo in range(0, n, CHUNK):
        hi = min(n, lo + CHUNK)
        wa, wb = ua[lo:hi], ub[lo:hi]
        if use_table:
            x = table(da)[wa].astype(np.float64)
            y = table(db)[wb].astype(np.float64)
        else:
            x = va[lo:hi].astype(np.float64)
            y = vb[lo:hi].astype(np.float64)
        or_a |= int(np.bitwise_or.reduce(wa)) if wa.size else 0
        or_b |= int(np.bitwise_or.reduce(wb)) if wb.size else 0
        w = wa ^ wb
        n_beq += int(np.count_nonzero(w == 0))
        hist += _byte_hist(w)
        fin = np.isfinite(x) & np.isfinite(y)
        if not fin.all():
            x, y = x[fin], y[fin]
        n_fin += x.size
        d = y - x
        n_eq += int(np.count_nonzero(d == 0))
        if d.size:
            md = max(md, float(np.abs(d).max()))
        p, q = x - sa, y - sb
        p2, q2 = p * p, q * q
        dot = np.dot
        acc += [p.sum(), p2.sum(), dot(p2, p), dot(p2, p2), q.sum(), q2.sum(), dot(q2, q), dot(q2, q2),
                dot(p, q), dot(x, x), dot(y, y), dot(x, y), dot(d, d), 0.0, 0.0, 0.0]
    return acc, hist, n_fin, n_eq, n_beq, or_a, or_b, md
