"""Opening a Keras file's HDF5 data without extracting anything: the file itself, or the ``model.weights.h5``
member of a ``.keras`` zip, read in place when stored (a read-only window on the zip) or from memory when
deflated (its declared size checked against the limit first)."""
from __future__ import annotations

import io
import struct
import zipfile
from contextlib import contextmanager

from ....errors import ParamstatError
from ...limits import check_bytes

HINT = "the file is truncated or not a Keras HDF5 / .keras file: re-download it or re-save it with Keras"


class _Slice(io.RawIOBase):
    """Read-only window [start, start+size) of a file: a stored zip member opened in place."""

    def __init__(self, path: str, start: int, size: int):
        self._f, self._start, self._size, self._pos = open(path, "rb"), start, size, 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def seek(self, pos, whence=0):
        base = {0: 0, 1: self._pos, 2: self._size}[whence]
        self._pos = max(0, base + pos)
        return self._pos

    def tell(self):
        return self._pos

    def readinto(self, b):
        n = max(0, min(len(b), self._size - self._pos))
        self._f.seek(self._start + self._pos)
        data = self._f.read(n)
        b[:len(data)] = data
        self._pos += len(data)
        return len(data)

    def close(self):
        self._f.close()
        super().close()


class KerasData:
    """Opens the HDF5 data: a file, or the ``model.weights.h5`` member of a ``.keras`` zip."""

    def __init__(self, path: str, member: str | None = None):
        self.path, self.member, self._bytes, self._slice = path, member, None, None
        if member is not None:
            try:
                with zipfile.ZipFile(path) as z:
                    info = z.getinfo(member)
                    if info.compress_type == zipfile.ZIP_STORED:
                        with open(path, "rb") as fh:
                            fh.seek(info.header_offset)
                            head = fh.read(30)
                        if head[:4] != b"PK\x03\x04":
                            raise zipfile.BadZipFile("bad local header")
                        n, m = struct.unpack("<HH", head[26:30])
                        self._slice = (info.header_offset + 30 + n + m, info.file_size)
                    else:
                        check_bytes(info.file_size, f"archive member {member} (decompressed)", path)
                        self._bytes = z.read(member)
            except (zipfile.BadZipFile, KeyError, OSError) as e:
                raise ParamstatError(f"corrupt .keras archive ({str(e)[:120]})", path=path, hint=HINT) from e

    @contextmanager
    def open(self):
        import h5py

        fobj = None
        try:
            if self._slice is not None:
                fobj = _Slice(self.path, *self._slice)
                f = h5py.File(fobj, "r")
            elif self._bytes is not None:
                f = h5py.File(io.BytesIO(self._bytes), "r")
            else:
                f = h5py.File(self.path, "r")
        except OSError as e:
            if fobj is not None:
                fobj.close()
            first = (str(e).splitlines() or [""])[0][:140]
            raise ParamstatError(f"cannot open as HDF5 ({first})", path=self.path, hint=HINT) from e
        try:
            yield f
        finally:
            f.close()
            if fobj is not None:
                fobj.close()
