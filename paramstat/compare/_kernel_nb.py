"""numba kernel for ``paramstat.compare.kernel`` (imported lazily: numba is optional). Top-level
functions so that ``cache=True`` stores the machine code on disk (no recompilation per process).

Bits: the stored words are read as uint64 (64/e elements of e bits each). v = wa ^ wb goes through
stats._popcount_nb's byte-lane counters (64 word-bit counters, folded to element bits (mod e) by the
caller). Elements whose bits differ: per e-bit lane, ((OR of the lane's bytes) + 0xFF) >> 8
is 1 exactly when the lane is non-zero. OR of all words gives the bits ever set.
Values: blocks of BLOCK elements gathered into float64 buffers, then three short accumulation loops
(few accumulators each, so they vectorize; reassociation allowed, NaN/Inf semantics kept). Blocks with a
non-finite value are compacted to their finite pairs first.
"""
import numba as nb
import numpy as np

from ..stats._popcount_nb import LANE_MAX, ZERO8, add, flush

_NACC = 16
BLOCK = 2048
_FM = {"reassoc", "contract", "nsz", "arcp"}  # no 'nnan'/'ninf': isfinite must keep working


@nb.njit(cache=True, nogil=True, inline="always")
def _nonzero_lanes(v, e):
    """Word with 1 in the lowest bit of every non-zero e-bit lane (e = 16, 32, 64)."""
    if e == 16:
        t = (v | (v >> np.uint64(8))) & np.uint64(0x00FF00FF00FF00FF)
        return ((t + np.uint64(0x00FF00FF00FF00FF)) >> np.uint64(8)) & np.uint64(0x0001000100010001)
    if e == 32:
        t = (v | (v >> np.uint64(8)) | (v >> np.uint64(16)) | (v >> np.uint64(24))) \
            & np.uint64(0x000000FF000000FF)
        return ((t + np.uint64(0x000000FF000000FF)) >> np.uint64(8)) & np.uint64(0x0000000100000001)
    return np.uint64(1) if v != 0 else np.uint64(0)


@nb.njit(cache=True, nogil=True)
def _bits_words(wa, wb, w0, w1, e, bitcnt, cnt, ors):
    """Flip counts per word bit, #non-zero lanes (into cnt[2] as 'differing elements'), ORs."""
    ora = np.uint64(0)
    orb = np.uint64(0)
    lanes = 64 // e
    lane_mask = (np.uint64(1) << np.uint64(e)) - np.uint64(1) if e < 64 else np.uint64(0xFFFFFFFFFFFFFFFF)
    ndiff = 0
    i = w0
    while i < w1:
        end = min(i + LANE_MAX, w1)
        a = ZERO8
        z = np.uint64(0)
        for k in range(i, end):
            x = wa[k]
            y = wb[k]
            ora |= x
            orb |= y
            v = x ^ y
            a = add(a, v)
            z += _nonzero_lanes(v, e)
        flush(a, bitcnt)
        for ln in range(lanes):
            ndiff += int((z >> np.uint64(ln * e)) & lane_mask)
        i = end
    cnt[2] += ndiff
    ors[0] |= ora
    ors[1] |= orb


@nb.njit(cache=True, nogil=True, fastmath=_FM)
def _pass_a(x, m, sa, acc):
    s1 = s2 = s3 = s4 = sq = 0.0
    for j in range(m):
        a = x[j]
        p = a - sa
        p2 = p * p
        s1 += p
        s2 += p2
        s3 += p2 * p
        s4 += p2 * p2
        sq += a * a
    return s1, s2, s3, s4, sq


@nb.njit(cache=True, nogil=True, fastmath=_FM)
def _pass_ab(x, y, m, sa, sb):
    cab = xy = dd = 0.0
    md = 0.0
    neq = 0
    for j in range(m):
        a = x[j]
        b = y[j]
        d = b - a
        cab += (a - sa) * (b - sb)
        xy += a * b
        dd += d * d
        ad = abs(d)
        md = ad if ad > md else md
        neq += 1 if d == 0.0 else 0
    return cab, xy, dd, md, neq


@nb.njit(cache=True, nogil=True)
def _values_range(va, vb, ua, ub, ta, tb, use_table, lo, hi, sa, sb, acc, cnt, maxd):
    x = np.empty(BLOCK, dtype=np.float64)
    y = np.empty(BLOCK, dtype=np.float64)
    for s in range(lo, hi, BLOCK):
        e = min(hi, s + BLOCK)
        m = e - s
        if use_table:
            for j in range(m):
                x[j] = ta[ua[s + j]]
                y[j] = tb[ub[s + j]]
        else:
            for j in range(m):
                x[j] = va[s + j]
                y[j] = vb[s + j]
        bad = 0
        for j in range(m):
            bad += 0 if (np.isfinite(x[j]) and np.isfinite(y[j])) else 1
        if bad:
            k = 0
            for j in range(m):
                if np.isfinite(x[j]) and np.isfinite(y[j]):
                    x[k] = x[j]
                    y[k] = y[j]
                    k += 1
            m = k
        s1, s2, s3, s4, sq = _pass_a(x, m, sa, acc)
        acc[0] += s1
        acc[1] += s2
        acc[2] += s3
        acc[3] += s4
        acc[9] += sq
        s1, s2, s3, s4, sq = _pass_a(y, m, sb, acc)
        acc[4] += s1
        acc[5] += s2
        acc[6] += s3
        acc[7] += s4
        acc[10] += sq
        cab, xy, dd, md, neq = _pass_ab(x, y, m, sa, sb)
        acc[8] += cab
        acc[11] += xy
        acc[12] += dd
        if md > maxd[0]:
            maxd[0] = md
        cnt[0] += m
        cnt[1] += neq


@nb.njit(cache=True, parallel=True)
def _run(va, vb, ua, ub, wa, wb, ta, tb, use_table, sa, sb, e, nchunks):
    """Values over all n elements; bits over the words wa/wb (the caller handles a tail that does not
    fill a word). Chunks start on BLOCK boundaries (BLOCK is a multiple of every 64/e)."""
    n = ua.size
    nw = wa.size
    epw = 64 // e
    acc = np.zeros((nchunks, _NACC), dtype=np.float64)
    bitcnt = np.zeros((nchunks, 64), dtype=np.uint64)
    cnt = np.zeros((nchunks, 3), dtype=np.int64)
    ors = np.zeros((nchunks, 2), dtype=np.uint64)
    maxd = np.zeros((nchunks, 1), dtype=np.float64)
    step = ((n + nchunks - 1) // nchunks + BLOCK - 1) // BLOCK * BLOCK
    for c in nb.prange(nchunks):
        lo = c * step
        hi = min(n, lo + step)
        if lo < hi:
            _values_range(va, vb, ua, ub, ta, tb, use_table, lo, hi, sa, sb, acc[c], cnt[c], maxd[c])
            w0 = lo // epw
            w1 = min(nw, hi // epw)
            if w0 < w1:
                _bits_words(wa, wb, w0, w1, e, bitcnt[c], cnt[c], ors[c])
    return acc, bitcnt, cnt, ors, maxd
