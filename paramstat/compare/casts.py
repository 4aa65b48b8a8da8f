"""Dtype casts with exact IEEE rounding, to decide "bit-identical up to dtype cast".

B == cast(A) (or A == cast(B)) where cast is round-to-nearest-even to the narrower dtype: the rule
torch's ``.to(torch.bfloat16)`` / ``.half()`` and numpy's ``astype(float16)`` follow. A same-dtype pair
counts too when one side is the other after a round trip through a narrower dtype (an fp32 file whose
16 low fraction bits are all zero was stored via bf16; 13 zero low bits: via fp16).
"""
from __future__ import annotations

import numpy as np

from ..dtypes import as_float

# precision rank: a cast goes from higher to lower
_RANK = {"float64": 3, "float32": 2, "float16": 1, "bfloat16": 1}
CHUNK = 1 << 22


def f32_to_bf16_bits(x: np.ndarray) -> np.ndarray:
    """float32 -> bf16 raw uint16 bits, round to nearest even; NaN stays NaN (quiet)."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    lsb = (u >> np.uint32(16)) & np.uint32(1)
    r = ((u + np.uint32(0x7FFF) + lsb) >> np.uint32(16)).astype(np.uint16)
    nan = np.isnan(x)
    if nan.any():
        r[nan] = ((u[nan] >> np.uint32(16)) | np.uint32(0x40)).astype(np.uint16)
    return r


def cast_bits(values: np.ndarray, to: str) -> np.ndarray:
    """Float values -> the stored representation of dtype ``to`` (bf16 as uint16 bits)."""
    if to == "bfloat16":
        return f32_to_bf16_bits(values.astype(np.float32, copy=False))
    return values.astype(to)


def _stored(raw: np.ndarray, dtype: str) -> np.ndarray:
    a = np.ascontiguousarray(raw).reshape(-1)
    return a.view(np.uint16) if dtype == "bfloat16" else a


def _equal_bits(x: np.ndarray, y: np.ndarray) -> bool:
    return x.shape == y.shape and np.array_equal(x.view(np.uint8), y.view(np.uint8))


def cast_equal(src: np.ndarray, src_dtype: str, dst: np.ndarray, dst_dtype: str) -> bool:
    """True when ``dst`` is exactly ``src`` cast to ``dst_dtype`` (chunked, stops at the first difference)."""
    s, d = _stored(src, src_dtype), _stored(dst, dst_dtype)
    if s.size != d.size:
        return False
    for lo in range(0, s.size, CHUNK):
        vals = as_float(s[lo:lo + CHUNK], src_dtype)
        got = np.ascontiguousarray(cast_bits(vals, dst_dtype))
        if not _equal_bits(got, np.ascontiguousarray(d[lo:lo + CHUNK])):
            return False
    return True


def roundtrip_equal(src: np.ndarray, dtype: str, dst: np.ndarray, via: str) -> bool:
    """True when ``dst`` (same dtype as ``src``) equals src cast to ``via`` and back."""
    s, d = _stored(src, dtype), _stored(dst, dtype)
    if s.size != d.size:
        return False
    for lo in range(0, s.size, CHUNK):
        vals = as_float(s[lo:lo + CHUNK], dtype)
        narrow = cast_bits(vals, via)
        back = as_float(narrow, via).astype(dtype)
        if not _equal_bits(np.ascontiguousarray(back), np.ascontiguousarray(d[lo:lo + CHUNK])):
            return False
    return True


# low bits that a round trip through `via` leaves zero, for a stored dtype
_ZERO_LOW = {("float32", "bfloat16"): 0xFFFF, ("float32", "float16"): 0x1FFF,
             ("float64", "float32"): (1 << 29) - 1}


def cast_relation(ra: np.ndarray, da: str, rb: np.ndarray, db: str, or_a: int | None = None,
                  or_b: int | None = None) -> str | None:
    """The cast that makes A and B bit-identical, as 'A->bfloat16', 'B->float16', 'A via bfloat16' ...,
    or None. ``or_a``/``or_b`` (OR of all stored words, from the kernel) skip hopeless round-trip checks."""
    if da != db:
        if _RANK.get(da, 0) > _RANK.get(db, 0) and cast_equal(ra, da, rb, db):
            return f"A->{db}"
        if _RANK.get(db, 0) > _RANK.get(da, 0) and cast_equal(rb, db, ra, da):
            return f"B->{da}"
        if _RANK.get(da) == _RANK.get(db):  # bf16 vs fp16: equal values are the best one can say
            va, vb = as_float(ra, da).reshape(-1), as_float(rb, db).reshape(-1)
            if va.shape == vb.shape and np.array_equal(va, vb):
                return f"values equal ({da} vs {db})"
        return None
    # same dtype: one side is the other after a round trip through a narrower dtype. The rounded side
    # must carry more than one value: a constant init (BN weight 1, zero bias) rounds onto itself from
    # any small fine-tuning move, which is no evidence of a cast.
    for (dt, via), mask in _ZERO_LOW.items():
        if dt != da:
            continue
        if (or_b is None or or_b & mask == 0) and not _constant(rb) and roundtrip_equal(ra, da, rb, via):
            return f"B = A via {via}"
        if (or_a is None or or_a & mask == 0) and not _constant(ra) and roundtrip_equal(rb, db, ra, via):
            return f"A = B via {via}"
    return None


def _constant(raw: np.ndarray) -> bool:
    flat = np.asarray(raw).reshape(-1)
    return flat.size == 0 or bool(np.all(flat == flat[0]))
