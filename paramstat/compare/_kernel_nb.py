"""numba kernel for ``paramstat.compare.kernel`` (imported lazily: numba is optional). Top-level
functions so that ``cache=True`` stores the machine code on disk (no recompilation per process)."""
import numba as nb
import numpy as np

_NACC = 16


@nb.njit(cache=True, nogil=True)
def _range(va, vb, ua, ub, ta, tb, use_table, lo, hi, sa, sb, nbytes, acc, hist, cnt, ors, maxd):
    s1a = s2a = s3a = s4a = s1b = s2b = s3b = s4b = 0.0
    cab = xx = yy = xy = dd = 0.0
    md = 0.0
    nfin = 0
    neq = 0
    nbeq = 0
    ora = np.uint64(0)
    orb = np.uint64(0)
    for i in range(lo, hi):
        if use_table:
            x = np.float64(ta[ua[i]])
            y = np.float64(tb[ub[i]])
        else:
            x = np.float64(va[i])
            y = np.float64(vb[i])
        wa = np.uint64(ua[i])
        wb = np.uint64(ub[i])
        ora |= wa
        orb |= wb
        w = wa ^ wb
        if w == 0:
            nbeq += 1
        else:
            for k in range(nbytes):
                hist[k, (w >> np.uint64(8 * k)) & np.uint64(255)] += 1
        if not (np.isfinite(x) and np.isfinite(y)):
            continue
        nfin += 1
        d = y - x
        if d == 0.0:
            neq += 1
        ad = abs(d)
        if ad > md:
            md = ad
        p = x - sa
        q = y - sb
        p2 = p * p
        q2 = q * q
        s1a += p
        s2a += p2
        s3a += p2 * p
        s4a += p2 * p2
        s1b += q
        s2b += q2
        s3b += q2 * q
        s4b += q2 * q2
        cab += p * q
        xx += x * x
        yy += y * y
        xy += x * y
        dd += d * d
    acc[0] += s1a
    acc[1] += s2a
    acc[2] += s3a
    acc[3] += s4a
    acc[4] += s1b
    acc[5] += s2b
    acc[6] += s3b
    acc[7] += s4b
    acc[8] += cab
    acc[9] += xx
    acc[10] += yy
    acc[11] += xy
    acc[12] += dd
    cnt[0] += nfin
    cnt[1] += neq
    cnt[2] += nbeq
    ors[0] |= ora
    ors[1] |= orb
    if md > maxd[0]:
        maxd[0] = md

@nb.njit(cache=True, parallel=True)
def _run(va, vb, ua, ub, ta, tb, use_table, sa, sb, nbytes, nchunks):
    n = ua.size
    acc = np.zeros((nchunks, _NACC), dtype=np.float64)
    hist = np.zeros((nchunks, 8, 256), dtype=np.int64)
    cnt = np.zeros((nchunks, 3), dtype=np.int64)
    ors = np.zeros((nchunks, 2), dtype=np.uint64)
    maxd = np.zeros((nchunks, 1), dtype=np.float64)
    step = (n + nchunks - 1) // nchunks
    for c in nb.prange(nchunks):
        lo = c * step
        hi = min(n, lo + step)
        if lo < hi:
            _range(va, vb, ua, ub, ta, tb, use_table, lo, hi, sa, sb, nbytes, acc[c], hist[c], cnt[c],
                   ors[c], maxd[c])
    return acc, hist, cnt, ors, maxd
