"""numba kernel for ``paramstat.compare.kernel`` (imported lazily: numba is optional). Top-level
functions so that ``cache=True`` stores the machine code on disk (no recompilation per process).

Work goes in blocks of BLOCK elements: a bit pass (OR, XOR byte histograms, equal words), a gather into
two float64 block buffers, then a branch-free float pass that the compiler vectorizes (reassociation
allowed, NaN/Inf semantics kept); a block with a non-finite value takes the scalar path instead.
"""
import numba as nb
import numpy as np

_NACC = 16
BLOCK = 4096
_FM = {"reassoc", "contract", "nsz", "arcp"}  # no 'nnan'/'ninf': isfinite must keep working


@nb.njit(cache=True, nogil=True, fastmath=_FM)
def _float_block(x, y, m, sa, sb, acc, cnt, maxd):
    s1a = s2a = s3a = s4a = s1b = s2b = s3b = s4b = 0.0
    cab = xx = yy = xy = dd = 0.0
    md = 0.0
    neq = 0
    for j in range(m):
        a = x[j]
        b = y[j]
        d = b - a
        neq += 1 if d == 0.0 else 0
        ad = abs(d)
        md = ad if ad > md else md
        p = a - sa
        q = b - sb
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
        xx += a * a
        yy += b * b
        xy += a * b
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
    cnt[0] += m
    cnt[1] += neq
    if md > maxd[0]:
        maxd[0] = md


@nb.njit(cache=True, nogil=True)
def _range(va, vb, ua, ub, ta, tb, use_table, lo, hi, sa, sb, nbytes, acc, hist, cnt, ors, maxd):
    x = np.empty(BLOCK, dtype=np.float64)
    y = np.empty(BLOCK, dtype=np.float64)
    ora = np.uint64(0)
    orb = np.uint64(0)
    nbeq = 0
    for s in range(lo, hi, BLOCK):
        e = min(hi, s + BLOCK)
        m = e - s
        # bit pass
        for i in range(s, e):
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
        # gather values
        finite = True
        for j in range(m):
            if use_table:
                a = np.float64(ta[ua[s + j]])
                b = np.float64(tb[ub[s + j]])
            else:
                a = np.float64(va[s + j])
                b = np.float64(vb[s + j])
            x[j] = a
            y[j] = b
            if not (np.isfinite(a) and np.isfinite(b)):
                finite = False
        if not finite:  # compact the finite pairs first
            k = 0
            for j in range(m):
                if np.isfinite(x[j]) and np.isfinite(y[j]):
                    x[k] = x[j]
                    y[k] = y[j]
                    k += 1
            m = k
        _float_block(x, y, m, sa, sb, acc, cnt, maxd)
    cnt[2] += nbeq
    ors[0] |= ora
    ors[1] |= orb


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
