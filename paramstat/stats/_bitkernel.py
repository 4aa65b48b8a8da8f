"""Per-bit-position counts for every bit at once: ones[k] = popcount of bit k over u, and
trans[k] = popcount of bit k over u[1:] ^ u[:-1] (adjacent elements in C order).

Fast path (numba, compiled once and cached on disk): the array is viewed as uint64 words holding
64/e elements of e bits each. Bit-sliced byte-lane counters: for j in 0..7,
acc_j += (w >> j) & 0x0101010101010101 counts bit 8b+j of the word in byte lane b; after at most 255
words the 8 lanes are flushed into 64 word-bit counters, which are folded to element bits (mod e).
Transitions use the same counters on x = w ^ ((w >> e) | (w_next << (64 - e))), which holds the
XOR of every adjacent pair starting in word w. Words are split into one chunk per core, counted by
a thread pool (the kernel releases the GIL).

Fallback (PARAMSTAT_NO_NUMBA=1 or no numba; stats._numba): byte histograms with numpy.bincount,
256-entry lookup per byte plane. The byte-lane counters are stats._popcount_nb's.
"""
from __future__ import annotations

import numpy as np

from . import _numba

# numba pays (stats._numba.worth) for an array of >= 4M values, once loaded for any array of >= 4096,
# or once this process has counted >= 32M values with numpy (~20 ns/value).
_BIG_ARRAY = 1 << 22
_CUMULATIVE = 1 << 25
_MOD = "paramstat.stats._bitkernel_nb"
_numpy_values = 0


def get_kernel(compile: bool = True):
    """The numba chunk kernel, or None (numpy path: PARAMSTAT_NO_NUMBA=1, numba missing or broken).
    Importing ``_bitkernel_nb`` compiles the kernel eagerly (one explicit signature) or loads it from
    numba's on-disk cache; with ``compile=False`` only an already loaded kernel is returned."""
    if not compile and not _numba.loaded(_MOD):
        return None
    mod = _numba.load(_MOD)
    return None if mod is None else mod.count_chunk


def warm_kernel() -> float:
    """Compile (or load) the kernel now; returns seconds spent. Writes numba's on-disk cache."""
    import time

    t = time.perf_counter()
    k = get_kernel(compile=True)
    if k is not None:
        k(np.zeros(4, np.uint64), 0, 4, 32)
    return time.perf_counter() - t


_BYTE_BITS = tuple(np.uint8(1 << k) for k in range(8))


def _plane_counts_numpy(u: np.ndarray) -> np.ndarray:
    """ones per bit of u (any unsigned dtype), int64 (nbits,): each byte plane copied contiguous once, then
    ``count_nonzero(plane & (1 << k))`` per bit (SIMD passes over bytes; 2x faster here than the byte-plane
    ``bincount`` it replaced, which cast every byte to intp first: 8.3 vs 16.2 ms for 2.4M float32 values)."""
    nbytes = u.dtype.itemsize
    out = np.zeros(nbytes * 8, dtype=np.int64)
    if u.size == 0:
        return out
    planes = u.reshape(-1).view(np.uint8).reshape(-1, nbytes)  # little-endian: plane 0 = low byte
    plane = np.empty(planes.shape[0], dtype=np.uint8)
    tmp = np.empty_like(plane)
    for b in range(nbytes):
        np.copyto(plane, planes[:, b])
        for k, bit in enumerate(_BYTE_BITS):
            out[8 * b + k] = np.count_nonzero(np.bitwise_and(plane, bit, out=tmp))
    return out


_CHUNK = 1 << 22


def counts_numpy(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ones, transitions) per bit position with numpy only, in chunks of 4M values (bounded memory)."""
    u = np.ascontiguousarray(u).reshape(-1)
    ones = np.zeros(u.dtype.itemsize * 8, dtype=np.int64)
    trans = np.zeros_like(ones)
    for lo in range(0, u.size, _CHUNK):
        c = u[lo: lo + _CHUNK + 1]  # one value of overlap: the pair that bridges two chunks
        ones += _plane_counts_numpy(c[:_CHUNK])
        if c.size > 1:
            trans += _plane_counts_numpy(c[1:] ^ c[:-1])
    return ones, trans


def bit_counts(u: np.ndarray, use_numba: bool | None = None, nchunks: int | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """(ones, transitions) per bit position (index 0 = LSB) of an unsigned-integer array, int64.

    use_numba: None = numba once it pays (an array of >= 4M values, or >= 32M values already counted
    by numpy in this process; never below 4096 values), else numpy; True = numba (compiling if needed);
    False = numpy. Small models (ResNet-18: 11.7M values, largest tensor 2.4M) never load numba."""
    global _numpy_values
    u = np.ascontiguousarray(u).reshape(-1)
    if not (u.dtype.kind == "u" and u.dtype.itemsize in (1, 2, 4, 8)):
        raise TypeError(f"bit_counts needs an unsigned integer array, got {u.dtype}")
    e = u.dtype.itemsize * 8
    kern = None
    if use_numba is True:
        kern = get_kernel(compile=True)
        if kern is None:
            raise RuntimeError(f"numba kernel unavailable: {_numba.error(_MOD)}")
    elif use_numba is None and _numba.worth(u.size, big=_BIG_ARRAY, sticky=True, is_loaded=_numba.loaded(_MOD),
                                            counted=_numpy_values, cumulative=_CUMULATIVE):
        kern = get_kernel(compile=True)
    if kern is None:
        _numpy_values += u.size
        return counts_numpy(u)
    epw = 64 // e
    nw = u.size // epw
    if u.ctypes.data % 8:  # e.g. a slice x[1:]: a uint64 view would be unaligned (and recompile numba)
        u = u.copy()
    words = u[: nw * epw].view(np.uint64)
    if nchunks is None:
        nchunks = max(1, min(_numba.n_threads(), nw // 262_144 or 1))
    bounds = np.linspace(0, nw, nchunks + 1).astype(np.int64)
    spans = [(int(bounds[i]), int(bounds[i + 1])) for i in range(nchunks) if bounds[i] < bounds[i + 1]]
    if len(spans) > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(min(len(spans), _numba.n_threads())) as ex:  # the kernel releases the GIL
            parts = list(ex.map(lambda s: kern(words, s[0], s[1], e), spans))
    else:
        parts = [kern(words, s[0], s[1], e) for s in spans]
    o64 = np.zeros(64, dtype=np.int64)
    t64 = np.zeros(64, dtype=np.int64)
    for o, t in parts:
        o64 += o.astype(np.int64)
        t64 += t.astype(np.int64)
    fold = np.arange(64) % e
    ones = np.zeros(e, dtype=np.int64)
    trans = np.zeros(e, dtype=np.int64)
    np.add.at(ones, fold, o64)
    np.add.at(trans, fold, t64)
    # the tail: elements after the last full word, plus the pair bridging into the tail
    rest = u[nw * epw - 1:] if nw > 0 else u
    if rest.size > 1 or nw == 0:
        ro, rt = counts_numpy(rest)
        if nw > 0:  # rest[0] already counted in ones
            ro = ro - _plane_counts_numpy(rest[:1])
        ones += ro
        trans += rt
    return ones, trans
