"""bf16 -> float32 for the per-tensor features, with the non-finite count from the same pass.

``bf16_values(raw)`` returns ``(x, n_nonfinite)``: ``x`` the float32 values (exactly
``dtypes.as_float(raw, 'bfloat16')``: the 16 bits shifted into the high half of a float32) and the
number of values whose exponent bits are all ones (NaN or Inf, = ``x.size - count_nonzero(isfinite(x))``).
Big arrays (>= 1M values) take the numba kernel (``_floatpass_nb``: one pass, ~1 G values/s on one
core here, 2.5x numpy's astype + shift + isfinite; two threads measured slower on this shared 2-core
machine, so one); else, or without numba (``stats._numba``), numpy.
"""
from __future__ import annotations

import numpy as np

from . import _numba

_MOD = "paramstat.stats._floatpass_nb"
_BIG = 1 << 20


def bf16_values(raw: np.ndarray) -> tuple[np.ndarray, int]:
    """(float32 values, non-finite count) of bf16 bits (module doc)."""
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
