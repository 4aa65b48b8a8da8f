"""Whole-tensor statistics in bounded memory, equal bit for bit to numpy on the full float64 copy.

numpy sums a contiguous float64 array by pairwise summation (numpy/_core/src/umath/loops_utils.h.src,
``pairwise_sum``): n < 8 summed in order; n <= 128 in 8 interleaved accumulators; else split at
n2 = n // 2 - (n // 2) % 8 and the two halves' sums added. The result depends only on the values and on
n, so summing the float64 chunks that are nodes of that split tree (``tree_leaves``: every node of at
most ``leaf`` values) with numpy and adding the chunk sums back up the same tree gives exactly
``np.sum(x.astype(np.float64))``, with one float64 chunk in memory instead of the whole copy.
``mean_std`` applies it to numpy's ``mean`` and ``std`` (``_methods._mean``: sum / n; ``_methods._var``:
sum((x - mean)^2) / n, then sqrt) -- the same operations, in the same order, on the same float64 values.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

LEAF = 1 << 20   # values per float64 chunk (8 MiB)
PW_BLOCKSIZE = 128


def _split(n: int) -> int:
    n2 = n // 2
    return n2 - n2 % 8


def tree_sum(n: int, chunk_sum: Callable[[int, int], float], leaf: int = LEAF) -> float:
    """numpy's pairwise sum of n values, given ``chunk_sum(lo, hi)`` = numpy's sum of values lo..hi-1 as a
    float64 array (called only on nodes of numpy's split tree, each of at most ``leaf`` values)."""
    leaf = max(int(leaf), PW_BLOCKSIZE + 1)

    def rec(lo: int, m: int) -> float:
        if m <= leaf:
            return chunk_sum(lo, lo + m)
        m2 = _split(m)
        return rec(lo, m2) + rec(lo + m2, m - m2)

    return float(rec(0, int(n)))


def mean_std(x: np.ndarray, leaf: int = LEAF) -> tuple[float, float]:
    """(x.astype(float64).mean(), x.astype(float64).std()) exactly, converting at most ``leaf`` values to
    float64 at a time (``x`` 1-D: float16/32/64)."""
    x = np.asarray(x).reshape(-1)
    n = int(x.size)
    if n <= leaf or x.dtype == np.float64:
        x64 = x.astype(np.float64, copy=False)
        return float(x64.mean()), float(x64.std())
    buf = np.empty(min(n, leaf), dtype=np.float64)

    def part(lo: int, hi: int) -> np.ndarray:
        out = buf[: hi - lo]
        out[...] = x[lo:hi]
        return out

    s = tree_sum(n, lambda lo, hi: np.add.reduce(part(lo, hi)), leaf)
    mean = np.float64(s) / n

    def sq(lo: int, hi: int) -> float:
        d = part(lo, hi)
        np.subtract(d, mean, out=d)
        np.multiply(d, d, out=d)
        return np.add.reduce(d)

    var = np.float64(tree_sum(n, sq, leaf)) / n
    return float(mean), float(np.sqrt(var))


def count_runs_above(x: np.ndarray, cutoff: float, chunk: int = 1 << 22) -> tuple[int, int, int]:
    """(n, n1, runs) of the 0/1 sequence ``x >= cutoff`` in C order (stats.runs.runs_test's counts), in
    chunks of ``chunk`` values (a few bool chunks in memory instead of two whole bool arrays)."""
    x = np.asarray(x).reshape(-1)
    n = int(x.size)
    n1 = trans = 0
    prev = None
    for lo in range(0, n, chunk):
        b = x[lo: lo + chunk] >= cutoff
        n1 += int(np.count_nonzero(b))
        trans += int(np.count_nonzero(b[1:] != b[:-1]))
        if prev is not None and bool(b[0]) != prev:
            trans += 1
        prev = bool(b[-1])
    return n, n1, 1 + trans if n else 0


def finite_count_min_max(x: np.ndarray, chunk: int = 1 << 22) -> tuple[int, float, float]:
    """(number of non-finite values, min, max) of a float array in chunks (min/max over all values; callers
    use them only when every value is finite)."""
    x = np.asarray(x).reshape(-1)
    bad = 0
    lo_v, hi_v = math.inf, -math.inf
    for lo in range(0, int(x.size), chunk):
        c = x[lo: lo + chunk]
        bad += int(c.size - np.count_nonzero(np.isfinite(c)))
        lo_v, hi_v = min(lo_v, float(c.min())), max(hi_v, float(c.max()))
    return bad, lo_v, hi_v


def count_not_equal(x: np.ndarray, c: float, chunk: int = 1 << 22) -> int:
    """``np.count_nonzero(x != c)`` in chunks (no whole bool array)."""
    return count_where(x, lambda v: v != c, chunk)


def count_where(x: np.ndarray, pred: Callable[[np.ndarray], np.ndarray], chunk: int = 1 << 22) -> int:
    """``np.count_nonzero(pred(x))`` in chunks of the flat ``x``: the temporaries ``pred`` makes are
    chunk-sized, never whole-tensor masks."""
    x = np.asarray(x).reshape(-1)
    return sum(int(np.count_nonzero(pred(x[lo: lo + chunk]))) for lo in range(0, int(x.size), chunk))
