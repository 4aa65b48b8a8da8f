"""numba kernels for ``_bitkernel`` (imported lazily: numba is optional). See ``_bitkernel`` for the
algorithm. Top-level functions so that ``cache=True`` can store the machine code on disk."""
import numba as nb
import numpy as np

_BLOCK = 255  # byte lanes count to 255 at most


@nb.njit(cache=True, nogil=True)
def _count_range(w, lo, hi, e, last_word, out_ones, out_trans):
    m = np.uint64(0x0101010101010101)
    ff = np.uint64(0xFF)
    ue = np.uint64(e)
    up = np.uint64(64 - e) if e < 64 else np.uint64(0)
    i = lo
    while i < hi:
        end = min(i + _BLOCK, hi)
        a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = np.uint64(0)
        for k in range(i, end):
            v = w[k]
            a0 += v & m
            a1 += (v >> np.uint64(1)) & m
            a2 += (v >> np.uint64(2)) & m
            a3 += (v >> np.uint64(3)) & m
            a4 += (v >> np.uint64(4)) & m
            a5 += (v >> np.uint64(5)) & m
            a6 += (v >> np.uint64(6)) & m
            a7 += (v >> np.uint64(7)) & m
        t0 = t1 = t2 = t3 = t4 = t5 = t6 = t7 = np.uint64(0)
        for k in range(i, end):
            v = w[k]
            if k < last_word:
                nx = w[k + 1]
            else:
                nx = v >> up  # makes the (missing) cross-word pair XOR to zero
            if e < 64:
                x = v ^ ((v >> ue) | (nx << up))
            else:
                x = v ^ nx
            t0 += x & m
            t1 += (x >> np.uint64(1)) & m
            t2 += (x >> np.uint64(2)) & m
            t3 += (x >> np.uint64(3)) & m
            t4 += (x >> np.uint64(4)) & m
            t5 += (x >> np.uint64(5)) & m
            t6 += (x >> np.uint64(6)) & m
            t7 += (x >> np.uint64(7)) & m
        for b in range(8):
            s = np.uint64(8 * b)
            out_ones[8 * b + 0] += (a0 >> s) & ff
            out_ones[8 * b + 1] += (a1 >> s) & ff
            out_ones[8 * b + 2] += (a2 >> s) & ff
            out_ones[8 * b + 3] += (a3 >> s) & ff
            out_ones[8 * b + 4] += (a4 >> s) & ff
            out_ones[8 * b + 5] += (a5 >> s) & ff
            out_ones[8 * b + 6] += (a6 >> s) & ff
            out_ones[8 * b + 7] += (a7 >> s) & ff
            out_trans[8 * b + 0] += (t0 >> s) & ff
            out_trans[8 * b + 1] += (t1 >> s) & ff
            out_trans[8 * b + 2] += (t2 >> s) & ff
            out_trans[8 * b + 3] += (t3 >> s) & ff
            out_trans[8 * b + 4] += (t4 >> s) & ff
            out_trans[8 * b + 5] += (t5 >> s) & ff
            out_trans[8 * b + 6] += (t6 >> s) & ff
            out_trans[8 * b + 7] += (t7 >> s) & ff
        i = end


# One explicit signature with a read-only array type: writable and read-only (mmap'd) arrays both
# fit it, so numba compiles (and caches) exactly one specialization, eagerly at import.
_U64_RO = nb.types.Array(nb.types.uint64, 1, "C", readonly=True)
_U64 = nb.types.Array(nb.types.uint64, 1, "C")


@nb.njit(nb.types.UniTuple(_U64, 2)(_U64_RO, nb.types.int64, nb.types.int64, nb.types.int64),
         cache=True, nogil=True)
def count_chunk(w, lo, hi, e):
    """Counts for words lo..hi-1 (pairs into word hi included when hi < len(w)); releases the GIL."""
    ones = np.zeros(64, dtype=np.uint64)
    trans = np.zeros(64, dtype=np.uint64)
    _count_range(w, lo, hi, e, w.size - 1, ones, trans)
    return ones, trans
