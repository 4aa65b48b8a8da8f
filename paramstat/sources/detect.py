r"""What a file is, decided in one place: the predicates that the readers register as their sniff
(paramstat.sources.registry: extension first, then these in registration order) and the Keras and
TorchScript layout tests that the readers share.

Magic: HDF5 ``\x89HDF\r\n\x1a\n``; a zip of only ``.npy`` members is npz, with ``constants.pkl`` and
``code/`` TorchScript, with ``data.pkl`` a torch zip, with ``config.json`` + ``model.weights.h5`` a
``.keras`` archive; safetensors: a little-endian u64 header length followed by ``{``; a legacy torch
pickle starts with protocol 2-5 (``\x80\x02`` ...). ONNX has no magic (by extension only).
"""
from __future__ import annotations

import struct
import zipfile
from pathlib import Path

from .h5guard import H5_ERRORS


def _head(p: Path, n: int = 16) -> bytes:
    with open(p, "rb") as f:
        return f.read(n)


def _zip_names(p: Path) -> list[str] | None:
    if not zipfile.is_zipfile(p):
        return None
    with zipfile.ZipFile(p) as z:
        return z.namelist()


def is_hdf5(p: Path) -> bool:
    """The HDF5 signature (0x89 HDF CR LF 0x1a LF) at offset 0."""
    return _head(p).startswith(b"\x89HDF\r\n\x1a\n")


def is_npz(p: Path) -> bool:
    """A zip whose members are all ``.npy``."""
    names = _zip_names(p)
    return bool(names) and all(n.endswith(".npy") for n in names)


def is_safetensors(p: Path) -> bool:
    """Little-endian u64 header length n (2 <= n < file size) followed by ``{``."""
    head = _head(p)
    if len(head) < 10:
        return False
    (n,) = struct.unpack("<Q", head[:8])
    return 2 <= n < p.stat().st_size and head[8:9] == b"{"


def is_torch_file(p: Path) -> bool:
    """A torch zip (a ``data.pkl`` member, not TorchScript, not npz) or a legacy pickle (protocol 2-5)
    that is not safetensors-shaped."""
    names = _zip_names(p)
    if names is not None:
        return not is_npz(p) and not names_are_torchscript(names) and any(n.endswith("data.pkl") for n in names)
    head = _head(p)
    return head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05") and not is_safetensors(p)


def names_are_torchscript(names: list[str]) -> bool:
    """A zip's member names are a TorchScript archive's: constants.pkl and a code/ folder."""
    return any(n.endswith("/constants.pkl") or n == "constants.pkl" for n in names) and \
        any("/code/" in n or n.startswith("code/") for n in names)


def is_torchscript(path: str | Path) -> bool:
    """A zip whose member names are a TorchScript archive's."""
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except (zipfile.BadZipFile, OSError):
        return False
    return names_are_torchscript(names)


def is_keras_h5(path) -> bool:
    """True for a Keras HDF5 file (legacy full model / weights only, or Keras 3 ``.weights.h5``), False for
    paramstat's own store and other HDF5."""
    import h5py

    try:
        with h5py.File(str(path), "r") as f:
            return keras_h5_layout(f) is not None
    except H5_ERRORS:  # corrupt: the HDF5 reader says so
        return False


def names_are_keras(names) -> bool:
    """A zip's member names are a Keras 3 ``.keras`` archive's: config.json + model.weights.h5."""
    return "model.weights.h5" in names and "config.json" in names


def is_keras_zip(path) -> bool:
    """A zip holding config.json + model.weights.h5 (a Keras 3 ``.keras`` archive)."""
    try:
        with zipfile.ZipFile(str(path)) as z:
            names = set(z.namelist())
    except (zipfile.BadZipFile, OSError):
        return False
    return names_are_keras(names)


def keras_h5_layout(f) -> str | None:
    """'legacy-model', 'legacy-weights' or 'keras3' for an open Keras HDF5 file; None otherwise
    (paramstat's own store included)."""
    a = f.attrs
    if a.get("paramstat_format") is not None:
        return None
    if "model_weights" in f and has_list_attr(f["model_weights"].attrs, "layer_names"):
        return "legacy-model"
    if has_list_attr(a, "layer_names"):
        return "legacy-weights"
    import h5py

    if isinstance(f.get("vars"), h5py.Group) and isinstance(f.get("layers"), h5py.Group):
        return "keras3"
    return None


def has_list_attr(attrs, name: str) -> bool:
    """An HDF5 string-list attribute, whole or split by Keras as name0, name1, ..."""
    return name in attrs or f"{name}0" in attrs
