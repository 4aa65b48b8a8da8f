"""Shared by the benchmarks that write synthetic checkpoints: the safetensors prefix and bf16 values."""
from __future__ import annotations

import json
import struct

import numpy as np


def safetensors_prefix(tensors, dtype: str = "BF16", itemsize: int = 2) -> bytes:
    """The first bytes of a safetensors file holding ``tensors`` [(name, shape), ...] back to back:
    the little-endian u64 header length, then the JSON header padded with spaces to 8 bytes
    (huggingface/safetensors, docs "Format")."""
    header, off = {}, 0
    for name, shape in tensors:
        nbytes = int(np.prod(shape)) * itemsize
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [off, off + nbytes]}
        off += nbytes
    hb = json.dumps(header, separators=(",", ":")).encode()
    hb += b" " * (-len(hb) % 8)
    return struct.pack("<Q", len(hb)) + hb


def bf16_bytes(x: np.ndarray) -> bytes:
    """float32 values as bf16 bytes, rounded to nearest even (paramstat.compare.casts)."""
    from paramstat.compare.casts import f32_to_bf16_bits

    return f32_to_bf16_bits(np.ascontiguousarray(x, dtype=np.float32)).tobytes()
