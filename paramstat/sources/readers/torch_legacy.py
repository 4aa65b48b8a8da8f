"""Legacy (non-zip) ``torch.save`` files (``.th``, ``_use_new_zipfile_serialization=False``) read without
torch: a restricted unpickler and lazy storages read with numpy at their offsets.

Why: ``torch.load(weights_only=True)`` itself reads such a file in milliseconds, but importing torch costs
seconds (2.5 s of CPU, 6-30 s on a loaded machine), while safetensors/npz/h5 need no torch at all.

Layout (torch/serialization.py ``_legacy_save``): five pickles in a row -- the magic number
0x1950a86a20f9469cfc6c, the protocol version 1001, a sys_info dict (``little_endian``), the object (tensors
as ``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)``, storages as persistent ids
``('storage', torch.FloatStorage, key, location, numel, view_metadata)``), the list of storage keys --
then, for each key in that list's order, an int64 element count and the storage's raw little-endian
bytes (``storage._write_file``).

Safety: ``find_class`` allows only ``collections.OrderedDict``, ``torch._utils._rebuild_tensor_v2``,
``torch._utils._rebuild_parameter`` and the typed storage classes (as dtype markers); anything else
stops the unpickler before it is called and the file goes to ``torch.load(weights_only=True)``, which
loads what torch's allow-list permits and refuses the rest (UnsafePickleError). Bounds: every storage's
declared size is checked against the bytes in the file, every tensor's extent (offset + sum((size-1) *
stride) + 1) against its storage, before any value is read; sizes against ``--max-tensor-bytes`` in
build.
"""
from __future__ import annotations

import io
import math
import pickle
import struct
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import ParamstatError

MAGIC_NUMBER = 0x1950a86a20f9469cfc6c
PROTOCOL_VERSION = 1001
HINT = "the file is truncated or corrupt: re-download it or check that the copy finished"
_MAGIC_PREFIXES = tuple(pickle.dumps(MAGIC_NUMBER, protocol=k) for k in (2, 3, 4, 5))

# typed storage class -> (paramstat dtype name, little-endian numpy dtype of the stored bytes; bf16/fp8 raw)
STORAGES = {
    "FloatStorage": ("float32", "<f4"), "DoubleStorage": ("float64", "<f8"), "HalfStorage": ("float16", "<f2"),
    "BFloat16Storage": ("bfloat16", "<u2"), "LongStorage": ("int64", "<i8"), "IntStorage": ("int32", "<i4"),
    "ShortStorage": ("int16", "<i2"), "CharStorage": ("int8", "i1"), "ByteStorage": ("uint8", "u1"),
    "BoolStorage": ("bool", "?"),
}


class NeedsTorch(Exception):
    """The pickle uses a global this reader does not implement: let torch's weights_only loader decide."""


def is_legacy_torch(path) -> bool:
    """The file starts with torch's legacy magic-number pickle."""
    with open(path, "rb") as f:
        head = f.read(32)
    return head.startswith(_MAGIC_PREFIXES)


@dataclass(frozen=True)
class _StorageType:
    name: str


@dataclass
class _Storage:
    path: str
    key: str
    dtype: str
    raw: str
    numel: int
    offset: int | None = None    # file offset of the first byte (set once the storage table is read)


@dataclass
class LazyTensor:
    """A tensor of a legacy file: a strided view of a storage, read with numpy when asked."""
    storage: _Storage
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]

    @property
    def dtype(self) -> str:
        return self.storage.dtype

    def read(self) -> np.ndarray:
        st = self.storage
        n = math.prod(self.shape)
        item = np.dtype(st.raw).itemsize
        if n == 0:
            return np.zeros(self.shape, dtype=st.raw)
        extent = 1 + sum((s - 1) * d for s, d in zip(self.shape, self.stride))
        flat = np.fromfile(st.path, dtype=st.raw, count=extent, offset=st.offset + self.offset * item)
        if flat.size != extent:
            raise ParamstatError(f"truncated file: storage {st.key} ends early", path=st.path, hint=HINT)
        view = np.lib.stride_tricks.as_strided(flat, self.shape, tuple(d * item for d in self.stride),
                                               writeable=False)
        return np.array(view, order="C")   # a copy (ascontiguousarray would turn a 0-d tensor into 1-d)


def _plain_load(f):
    """A pickle of plain data only (numbers, strings, lists, dicts): no global allowed."""
    class _U(pickle.Unpickler):
        def find_class(self, module, name):
            raise NeedsTorch(f"{module}.{name}")
    return _U(f).load()


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                       metadata=None):
    if not isinstance(storage, _Storage) or type(storage_offset) is not int or \
            not isinstance(size, tuple) or not isinstance(stride, tuple) or len(size) != len(stride) or \
            not all(type(x) is int and x >= 0 for x in size + stride) or storage_offset < 0:
        raise ValueError("malformed tensor record")
    n = math.prod(size)
    if n:
        extent = storage_offset + 1 + sum((s - 1) * d for s, d in zip(size, stride))
        if extent > storage.numel:
            raise ValueError(f"a tensor of shape {size} reaches element {extent} of a storage of {storage.numel}")
    return LazyTensor(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, *_):
    if not isinstance(data, LazyTensor):
        raise ValueError("malformed parameter record")
    return data


_ALLOWED = {
    "collections.OrderedDict": OrderedDict,
    "torch._utils._rebuild_tensor_v2": _rebuild_tensor_v2,
    "torch._utils._rebuild_parameter": _rebuild_parameter,
}


class _Unpickler(pickle.Unpickler):
    def __init__(self, f, storages: dict, path: str):
        super().__init__(f)
        self._storages, self._path = storages, path

    def find_class(self, module, name):
        full = f"{module}.{name}"
        if full in _ALLOWED:
            return _ALLOWED[full]
        if module == "torch" and name in STORAGES:
            return _StorageType(name)
        raise NeedsTorch(full)

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType) and isinstance(pid[2], str) and type(pid[4]) is int
                and pid[4] >= 0):
            if isinstance(pid, tuple) and pid and pid[0] == "storage" and len(pid) >= 2 and \
                    not isinstance(pid[1], _StorageType):
                raise NeedsTorch(repr(pid[1])[:60])
            raise ValueError("malformed storage record")
        if len(pid) > 5 and pid[5] is not None:
            raise NeedsTorch("storage views")
        key = pid[2]
        st = self._storages.get(key)
        if st is None:
            dtype, raw = STORAGES[pid[1].name]
            st = self._storages[key] = _Storage(self._path, key, dtype, raw, pid[4])
        return st


def load_legacy(path: str | Path):
    """The checkpoint object of a legacy torch file, tensors as LazyTensor (see the module docstring).
    Raises NeedsTorch for a file this reader does not implement (the caller then uses
    ``torch.load(weights_only=True)``), ParamstatError for a corrupt one."""
    p = str(path)
    size = Path(p).stat().st_size
    storages: dict[str, _Storage] = {}
    try:
        with open(p, "rb") as f:
            if _plain_load(f) != MAGIC_NUMBER:
                raise ValueError("bad magic number")
            if _plain_load(f) != PROTOCOL_VERSION:
                raise NeedsTorch("protocol version")
            info = _plain_load(f)
            if not isinstance(info, dict) or not info.get("little_endian", True):
                raise NeedsTorch("big-endian file")
            obj = _Unpickler(f, storages, p).load()
            keys = _plain_load(f)
            if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
                raise ValueError("malformed storage key list")
            pos = f.tell()
            _locate(f, pos, size, keys, storages, p)
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, struct.error, KeyError, IndexError,
            AttributeError, UnicodeDecodeError, MemoryError, OverflowError) as e:
        first = next((ln.strip() for ln in str(e).splitlines() if ln.strip()), "no message")[:120]
        raise ParamstatError(f"cannot read as a PyTorch checkpoint ({type(e).__name__}: {first})", path=p,
                             hint=HINT) from e
    except RecursionError as e:
        raise ParamstatError("cannot read as a PyTorch checkpoint (objects nested too deeply)", path=p,
                             hint=HINT) from e
    return obj


def _locate(f: io.BufferedReader, pos: int, size: int, keys: list[str], storages: dict, p: str) -> None:
    """Each storage's data offset, walking the table (int64 count + bytes per key); declared sizes are
    checked against the file before anything is read."""
    for k in keys:
        f.seek(pos)
        head = f.read(8)
        if len(head) < 8:
            raise ParamstatError(f"truncated file: storage table ends before storage {k[:40]}", path=p, hint=HINT)
        (n,) = struct.unpack("<q", head)
        st = storages.get(k)
        if st is None:
            raise ValueError(f"storage {k[:40]} is in the table but no tensor uses it")
        if n != st.numel:
            raise ValueError(f"storage {k[:40]} holds {n} elements, its record says {st.numel}")
        nbytes = n * np.dtype(st.raw).itemsize
        if pos + 8 + nbytes > size:
            raise ParamstatError(f"truncated file: storage {k[:40]} declares {nbytes} bytes past the end of "
                                 f"the file ({size} bytes)", path=p, hint=HINT)
        st.offset = pos + 8
        pos += 8 + nbytes
    missing = [k for k, st in storages.items() if st.offset is None]
    if missing:
        raise ValueError(f"{len(missing)} storage(s) missing from the storage table")

