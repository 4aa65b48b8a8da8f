"""numpy .npz archives (np.savez / savez_compressed): one member per tensor, in archive order.
Shapes and dtypes come from each member's .npy header (nothing else is read up front); object arrays
are refused by ``allow_pickle=False`` and skipped with a warning. Names keep their keys, '/' -> '.'."""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from ...errors import ParamstatError
from ...formats import NPZ_EXT
from ..build import Entry
from ..detect import is_npz
from ..limits import check_bytes, numel
from ..registry import register_reader

HINT = "the file is truncated or not a numpy .npz archive: re-create it"


class _Archive:
    """One open ZipFile shared by a checkpoint's readers: opening the archive parses its whole central
    directory, so a ZipFile per tensor made reading n members O(n^2) (20k members: minutes)."""

    def __init__(self, path: str):
        self.path, self._z = path, None

    def read(self, member: str):
        if self._z is None:
            self._z = zipfile.ZipFile(self.path)
        with self._z.open(member) as fh:
            return np.lib.format.read_array(fh, allow_pickle=False)

    def __del__(self):
        if self._z is not None:
            self._z.close()


def _reader(archive: _Archive, member: str):
    def read():
        return archive.read(member)
    return read


def load_npz(path: str | Path) -> tuple[list[Entry], list[str]]:
    p = str(path)
    entries: list[Entry] = []
    warnings: list[str] = []
    archive = _Archive(p)
    try:
        with zipfile.ZipFile(p) as z:
            for info in z.infolist():
                if not info.filename.endswith(".npy"):
                    warnings.append(f"non-array member ignored: {info.filename}")
                    continue
                with z.open(info) as fh:
                    version = np.lib.format.read_magic(fh)
                    if version == (1, 0):
                        shape, _fortran, dtype = np.lib.format.read_array_header_1_0(fh)
                    elif version == (2, 0):
                        shape, _fortran, dtype = np.lib.format.read_array_header_2_0(fh)
                    else:  # version 3.0 (utf-8 field names): numpy's own header parser, header only
                        from numpy.lib._format_impl import _read_array_header

                        shape, _fortran, dtype = _read_array_header(fh, version)
                    data_bytes = info.file_size - fh.tell()
                key = info.filename[:-4]
                if dtype.hasobject:
                    warnings.append(f"object array ignored (needs pickle): {key}")
                    continue
                if dtype.names is not None or dtype.kind not in "biufc" or dtype.subdtype is not None:
                    warnings.append(f"array of non-numeric dtype {str(dtype)[:40]} ignored: {key}")
                    continue
                if any(int(d) < 0 for d in shape):
                    raise ValueError(f"member {key[:60]} has a negative dimension")
                nbytes = numel(shape) * dtype.itemsize
                check_bytes(nbytes, f"array {key[:60]!r}", p)
                if nbytes > data_bytes:
                    raise ParamstatError(f"array {key[:60]!r} declares {nbytes:,} bytes, its member holds "
                                         f"{max(data_bytes, 0):,}", path=p, hint=HINT)
                name = key.replace("/", ".")
                entries.append(Entry(key, tuple(int(s) for s in shape), dtype.name, _reader(archive, info.filename), name))
    except (zipfile.BadZipFile, ValueError, EOFError, OSError, KeyError, TypeError, SyntaxError,
            RecursionError, OverflowError, NotImplementedError) as e:
        first = (str(e).splitlines() or [""])[0][:120]
        raise ParamstatError(f"corrupt .npz archive ({type(e).__name__}: {first})", path=p, hint=HINT) from e
    return entries, warnings


@register_reader("npz", extensions=NPZ_EXT, sniff=is_npz, sniff_order=20)
def read(p: Path, s: str, ctx):
    """A numpy ``.npz`` archive (roles from names and shapes, or an architecture's)."""
    from ..build import build, file_provenance

    entries, w = load_npz(p)
    prov = dict(ctx.prov)
    prov.update(file_provenance(p, ctx.hash))
    return build(entries, source=s, format="npz", provenance=prov, warnings=list(ctx.warnings) + w,
                 roles=ctx.roles, order=ctx.order, path=s)
