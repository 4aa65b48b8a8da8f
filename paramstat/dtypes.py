"""Dtype helpers. numpy has no bfloat16: paramstat keeps bf16 tensors as their raw uint16 bits
and carries the dtype name beside the array. Every array in the library is (ndarray, dtype-name).

IEEE-754 layouts (bit 0 = least significant):
  float64: fraction 0-51, exponent 52-62, sign 63
  float32: fraction 0-22, exponent 23-30, sign 31
  float16: fraction 0-9,  exponent 10-14, sign 15
  bfloat16: fraction 0-6, exponent 7-14,  sign 15
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FLOAT_DTYPES = ("float64", "float32", "float16", "bfloat16")


@dataclass(frozen=True)
class FloatLayout:
    name: str
    bits: int
    fraction: tuple[int, int]  # inclusive bit range
    exponent: tuple[int, int]
    sign: int
    # the seed's fraction groups (fp32: 0-7, 8-15, 16-22), low to high
    fraction_groups: tuple[tuple[int, int], ...]


LAYOUTS: dict[str, FloatLayout] = {
    "float64": FloatLayout("float64", 64, (0, 51), (52, 62), 63, ((0, 7), (8, 15), (16, 51))),
    "float32": FloatLayout("float32", 32, (0, 22), (23, 30), 31, ((0, 7), (8, 15), (16, 22))),
    "float16": FloatLayout("float16", 16, (0, 9), (10, 14), 15, ((0, 3), (4, 6), (7, 9))),
    "bfloat16": FloatLayout("bfloat16", 16, (0, 6), (7, 14), 15, ((0, 2), (3, 4), (5, 6))),
}

_UINT = {8: np.uint8, 16: np.uint16, 32: np.uint32, 64: np.uint64}


def is_float(dtype: str) -> bool:
    return dtype in FLOAT_DTYPES


def as_bits(arr: np.ndarray, dtype: str) -> np.ndarray:
    """Unsigned-integer view of the IEEE bits (no copy when contiguous). bf16 arrays already are uint16."""
    if dtype == "bfloat16":
        return np.ascontiguousarray(arr).view(np.uint16)
    a = np.ascontiguousarray(arr)
    return a.view(_UINT[a.dtype.itemsize * 8])


def as_float(arr: np.ndarray, dtype: str) -> np.ndarray:
    """Values as a numpy float array (bf16 -> float32 exactly; others unchanged)."""
    if dtype == "bfloat16":
        u = np.ascontiguousarray(arr).view(np.uint16).astype(np.uint32)
        u <<= 16  # in place: one float32-sized array, no second temporary
        return u.view(np.float32)
    return np.asarray(arr)


def torch_dtype_name(t) -> str:
    """'torch.bfloat16' -> 'bfloat16'."""
    return str(t).replace("torch.", "")


def torch_to_numpy(t) -> tuple[np.ndarray, str]:
    """A torch tensor as (ndarray, dtype-name); bf16 as raw uint16 bits, no value change."""
    import torch

    t = t.detach()
    if t.device.type != "cpu":
        t = t.cpu()
    name = torch_dtype_name(t.dtype)
    if t.dtype == torch.bfloat16:
        return t.contiguous().view(torch.uint16).numpy(), name
    if t.dtype in (torch.float8_e4m3fn, torch.float8_e5m2):
        return t.contiguous().view(torch.uint8).numpy(), name
    return t.contiguous().numpy(), name
