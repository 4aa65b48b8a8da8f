"""bf16 -> float32 for the per-tensor features, with the non-finite count from the same pass.

``bf16_values(raw)`` returns ``(x, n_nonfinite)``: ``x`` the float32 values (exactly
``dtypes.as_float(raw, 'bfloat16')``: the 16 bits shifted into the high half of a float32) and the
number of values whose exponent bits are all ones (NaN or Inf, = ``x.size - count_nonzero(isfinite(x))``).
Big arrays (>= 1M values) take the numba kernel (``_floatpass_nb``: one pass, ~1 G values/s on one
core here, 2.5x numpy's astype + shift + isfinite; two threads measured slower on this shared 2-core
machine, so one); else, or without numba (``stats._numba``), numpy.

Widened reads: a reader that must hand over a big bf16 tensor can skip the separate uint16 array and
write each chunk of bits it reads straight into the float32 array (``widen_chunk``: the same shift), then
hand over ``high_bits(x)``: the upper 16 bits of each float32 (exactly the stored bf16 bits), a strided
view of the float32 array and no copy. ``bf16_values`` of such a view returns that float32 array itself
(``widened_base``), so one tensor costs one float32-sized array instead of the bits plus their float32
copy (1.5x less: a 512 MB bf16 tensor holds 1 GB, not 1.5 GB).
"""
from __future__ import annotations

import sys

import numpy as np

from . import _numba

_MOD = "paramstat.stats._floatpass_nb"
_BIG = 1 << 20


_HI = 1 if sys.byteorder == "little" else 0   # uint16 index of a float32's upper half
_EXP32 = np.uint32(0x7F800000)
CHUNK = 1 << 22


def high_bits(x: np.ndarray) -> np.ndarray:
    """The upper 16 bits of each value of a contiguous float32/uint32 array (a bf16 widened by
    ``widen_chunk``: its stored bits), as a strided uint16 view of ``x`` in x's shape (no copy)."""
    flat = np.ascontiguousarray(x).reshape(-1)
    return flat.view(np.uint16)[_HI::2].reshape(np.shape(x))


def widened_base(raw: np.ndarray) -> np.ndarray | None:
    """The float32 array whose upper halves ``raw`` is (``high_bits``), or None for any other array."""
    base = getattr(raw, "base", None)
    if (raw.dtype != np.uint16 or not isinstance(base, np.ndarray) or base.dtype.itemsize != 4
            or not base.flags.c_contiguous or base.size != raw.size or raw.size == 0):
        return None
    if raw.ctypes.data != base.ctypes.data + 2 * _HI or any(s != 4 for s in raw.reshape(-1).strides):
        return None
    return base.view(np.float32).reshape(raw.shape)


def widen_chunk(src: np.ndarray, dst: np.ndarray) -> int:
    """dst[:] = src << 16 (bf16 bits -> float32 bits; dst uint32, both 1-D contiguous, same size);
    returns how many are NaN/Inf."""
    mod = _numba.load(_MOD) if _numba.worth(src.size, big=_BIG) else None
    if mod is not None:
        return int(mod.bf16_chunk(src, dst, 0, src.size))
    np.left_shift(src, 16, out=dst, dtype=np.uint32)
    return int(np.count_nonzero((src & 0x7F80) == 0x7F80))


def bf16_values(raw: np.ndarray) -> tuple[np.ndarray, int]:
    """(float32 values, non-finite count) of bf16 bits (module doc)."""
    base = widened_base(raw)
    if base is not None:  # already widened by the reader: count in chunks, no copy
        u = base.reshape(-1).view(np.uint32)
        bad = sum(int(np.count_nonzero((u[i: i + CHUNK] & _EXP32) == _EXP32)) for i in range(0, u.size, CHUNK))
        return base, bad
    u = np.ascontiguousarray(raw).view(np.uint16)
    flat = u.reshape(-1)
    mod = _numba.load(_MOD) if _numba.worth(flat.size, big=_BIG) else None
    if mod is None:
        out = flat.astype(np.uint32)
        out <<= 16
        bad = int(np.count_nonzero((flat & 0x7F80) == 0x7F80))
        return out.view(np.float32).reshape(u.shape), bad
    out = np.empty(flat.size, dtype=np.uint32)
    bad = mod.bf16_chunk(flat, out, 0, flat.size)
    return out.view(np.float32).reshape(u.shape), int(bad)
