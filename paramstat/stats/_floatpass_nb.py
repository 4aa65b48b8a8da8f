"""numba kernel for ``stats.floatpass`` (imported lazily: numba is optional): bf16 bits -> float32 values
and the count of non-finite values, in one pass over the bits. Top-level so ``cache=True`` stores it."""
import numba as nb
import numpy as np

_U16_RO = nb.types.Array(nb.types.uint16, 1, "C", readonly=True)
_U32 = nb.types.Array(nb.types.uint32, 1, "C")


@nb.njit(nb.types.int64(_U16_RO, _U32, nb.types.int64, nb.types.int64), cache=True, nogil=True)
def bf16_chunk(src, dst, lo, hi):
    """dst[i] = src[i] << 16 for i in lo..hi-1; returns how many have an all-ones exponent (NaN/Inf)."""
    bad = 0
    for i in range(lo, hi):
        v = np.uint32(src[i])
        dst[i] = v << np.uint32(16)
        bad += (v & np.uint32(0x7F80)) == np.uint32(0x7F80)
    return bad
