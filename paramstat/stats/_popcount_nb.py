"""The popcount primitive both numba kernels share (bit counts of stats._bitkernel_nb, flip counts of
compare._kernel_nb). Bit-sliced byte-lane counters: for j in 0..7, a_j += (v >> j) & 0x0101010101010101
counts bit 8b+j of the 64-bit word v in byte lane b; a lane holds at most 255, so after at most 255 words
``flush`` adds the 8 x 8 lane counts into 64 word-bit counters (out[8b + j]).
numba's cache does not see edits here from the kernels that call it: clear __pycache__ after changing it.
"""
import numba as nb
import numpy as np

LANE_MAX = 255
M01 = np.uint64(0x0101010101010101)
ZERO8 = (np.uint64(0),) * 8


@nb.njit(cache=True, nogil=True)
def add(a, v):
    """The 8 lane counters a (tuple) plus the bits of word v."""
    return (a[0] + (v & M01), a[1] + ((v >> np.uint64(1)) & M01), a[2] + ((v >> np.uint64(2)) & M01),
            a[3] + ((v >> np.uint64(3)) & M01), a[4] + ((v >> np.uint64(4)) & M01),
            a[5] + ((v >> np.uint64(5)) & M01), a[6] + ((v >> np.uint64(6)) & M01),
            a[7] + ((v >> np.uint64(7)) & M01))


@nb.njit(cache=True, nogil=True)
def flush(a, out):
    """out[8b + j] += byte b of a[j] (64 word-bit counters)."""
    ff = np.uint64(0xFF)
    for b in range(8):
        s = np.uint64(8 * b)
        out[8 * b + 0] += (a[0] >> s) & ff
        out[8 * b + 1] += (a[1] >> s) & ff
        out[8 * b + 2] += (a[2] >> s) & ff
        out[8 * b + 3] += (a[3] >> s) & ff
        out[8 * b + 4] += (a[4] >> s) & ff
        out[8 * b + 5] += (a[5] >> s) & ff
        out[8 * b + 6] += (a[6] >> s) & ff
        out[8 * b + 7] += (a[7] >> s) & ff
