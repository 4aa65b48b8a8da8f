"""numba kernels for ``_bitkernel`` (imported lazily: numba is optional). See ``_bitkernel`` for the
algorithm. Top-level functions so that ``cache=True`` can store the machine code on disk."""
import numba as nb
import numpy as np

from ._popcount_nb import LANE_MAX, ZERO8, add, flush


@nb.njit(cache=True, nogil=True)
def _count_range(w, lo, hi, e, last_word, out_ones, out_trans):
    ue = np.uint64(e)
    up = np.uint64(64 - e) if e < 64 else np.uint64(0)
    i = lo
    while i < hi:
        end = min(i + LANE_MAX, hi)
        a = ZERO8
        t = ZERO8
        for k in range(i, end):
            v = w[k]
            a = add(a, v)
            if k < last_word:
                nx = w[k + 1]
            else:
                nx = v >> up  # makes the (missing) cross-word pair XOR to zero
            if e < 64:
                x = v ^ ((v >> ue) | (nx << up))
            else:
                x = v ^ nx
            t = add(t, x)
        flush(a, out_ones)
        flush(t, out_trans)
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
