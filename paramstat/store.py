"""paramstat's HDF5 store: one dataset per tensor, streamed, original dtype kept. The reader is a source
(paramstat/sources/readers/hdf5.py).

Layout (format 'paramstat-h5' version 1):
  /                       attrs: paramstat_format, paramstat_format_version, paramstat_version,
                          provenance (JSON), warnings (JSON), n_tensors, plus every scalar provenance field
                          under its own name (source, format, sha256, arch, pretrained, seed, ...)
  /conv1/weight           dataset: the tensor as stored (bf16 as its raw uint16 bits, float8 as uint8, with
                          attr paramstat_dtype naming the real dtype); attrs name, stored_name, dtype, shape
                          (JSON), role, depth, numel and, when known, module_type, fan_in, fan_out, groups
  /_stats/conv1/weight    group (only with a per_tensor callback): arrays it returned; its scalars are
                          also attrs of the tensor's dataset, as 'stats.<key>'
The group tree follows the module names split on '.'; a name that cannot be placed there (a '/' in it, or a
clash between a tensor and a module path) goes to /_flat/<depth> with its real name in attr 'name'.
Tensors of >= 1024 elements are chunked and compressed (shuffle + gzip level 1 by default; see
docs/BENCHMARKS.md 'extract' for gzip vs lzf). Writes go to a temp file published at the end (atomic.py);
Ctrl-C / SIGTERM end the run at the next tensor and remove it (interrupt.py); HDF5 writes through h5py's 'fileobj' driver into _OutputFile, which
records a failed write (disk full) so that it ends the run as one line instead of crashing HDF5.
"""
from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from . import interrupt
from .atomic import atomic_path
from .record import Checkpoint, TensorRecord

FORMAT = "paramstat-h5"
FORMAT_VERSION = 1
COMPRESS_MIN = 1024
RAW_BITS = {"bfloat16": np.uint16, "float8_e4m3fn": np.uint8, "float8_e5m2": np.uint8}


def _path_for(rec: TensorRecord, taken_groups: set[str], taken_leaves: set[str]) -> str:
    parts = rec.name.split(".")
    ok = rec.name and all(p and "/" not in p and p not in (".", "..") for p in parts) \
        and not rec.name.startswith("_flat") and not rec.name.startswith("_stats")
    path = "/".join(parts)
    if ok:
        prefixes = {"/".join(parts[:i]) for i in range(1, len(parts))}
        if path in taken_groups or path in taken_leaves or prefixes & taken_leaves:
            ok = False
    if not ok:
        return f"_flat/{rec.depth}"
    taken_leaves.add(path)
    taken_groups.update("/".join(parts[:i]) for i in range(1, len(parts)))
    return path


def _attr_value(v):
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v)
    if isinstance(v, str):
        return str(v)  # also plain-ifies str subclasses (torch.__version__ is a TorchVersion)
    return json.dumps(v, default=str)


def _flat_items(d: dict, prefix: str = ""):
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            yield from _flat_items(v, key + ".")
        else:
            yield key, v


class _OutputFile(io.FileIO):
    """The temp file under h5py's 'fileobj' driver.

    With HDF5's own driver a failed write (ENOSPC, EFBIG) is mostly raised where Python cannot catch it (h5py's
    ObjectID.__dealloc__: "Exception ignored in", the run may end 0 with lost chunks) and closing such a file
    crashes HDF5 (SIGSEGV, measured with h5py 3.16 under RLIMIT_FSIZE). Here the first failed write is recorded
    and later writes are dropped, so HDF5 closes cleanly; ``raise_error`` then fails the run (the temp file is
    removed by atomic_path). Writes loop until complete (h5py ignores short writes)."""

    error: OSError | None = None

    def write(self, b) -> int:
        mv = memoryview(b).cast("B")
        if self.error is None:
            done = 0
            try:
                while done < len(mv):
                    done += super().write(mv[done:]) or 0
            except OSError as err:
                self.error = err
        return len(mv)

    def truncate(self, size=None) -> int:
        try:
            return super().truncate(size)
        except OSError as err:
            self.error = self.error or err
            return self.tell() if size is None else size

    def raise_error(self) -> None:
        if self.error is not None:
            raise self.error


def _codec(compression: str):
    if compression == "lzf":
        return {"compression": "lzf", "shuffle": True}
    if compression == "none":
        return {}
    level = int(compression.split(":")[1]) if ":" in compression else 1
    return {"compression": "gzip", "compression_opts": level, "shuffle": True}


def write_h5(ckpt: Checkpoint, path: str | Path, *, force: bool = False,
             per_tensor: Callable[[TensorRecord, np.ndarray], dict] | None = None, attrs: dict | None = None,
             compression: str = "gzip", progress: bool = False) -> Path:
    """Stream ``ckpt`` into an HDF5 file at ``path`` (atomic; refuses to overwrite unless ``force``).

    One tensor is in memory at a time. ``per_tensor(record, array)`` may return a dict of scalars/arrays
    stored beside the tensor (see module docstring). ``attrs``: extra file-level attributes.
    ``compression``: 'gzip' (level 1), 'gzip:N', 'lzf' or 'none'.
    """
    import h5py

    out = Path(path)
    codec = _codec(compression)
    with atomic_path(out, force) as tmp, _OutputFile(tmp, "r+") as raw:
        # Signals are only recorded while h5py runs: an exception raised inside HDF5's write callback leaves the
        # file half-written and HDF5 crashes closing it. interrupt.check() raises them between tensors.
        with interrupt.deferred(), h5py.File(raw, "w") as f:
            _write_all(f, raw, ckpt, per_tensor, attrs, codec, progress)
        raw.raise_error()  # a write that failed while HDF5 closed the file
    return out


def _write_all(f, raw: _OutputFile, ckpt: Checkpoint, per_tensor, attrs, codec, progress) -> None:
    """File attributes, then one dataset per tensor (the layout in the module docstring)."""
    from . import __version__
    from .progress import track

    prov = dict(ckpt.provenance)
    prov.setdefault("source", ckpt.source)
    prov.setdefault("format", ckpt.format)
    import sys

    for mod in ("torch", "timm", "h5py"):  # versions of what read/wrote the tensors
        if mod in sys.modules:
            prov.setdefault(f"{mod}_version", str(getattr(sys.modules[mod], "__version__", "?")))
    f.attrs["paramstat_format"] = FORMAT
    f.attrs["paramstat_format_version"] = FORMAT_VERSION
    f.attrs["paramstat_version"] = __version__
    f.attrs["provenance"] = json.dumps(prov, default=str)
    f.attrs["warnings"] = json.dumps(list(ckpt.warnings))
    f.attrs["n_tensors"] = len(ckpt.records)
    for k, v in prov.items():
        if v is not None and isinstance(v, (str, int, float, bool)) and k not in f.attrs:
            f.attrs[k] = _attr_value(v)
    for k, v in (attrs or {}).items():
        f.attrs[k] = _attr_value(v)
    groups: set[str] = set()
    leaves: set[str] = set()
    for rec in track(ckpt.records, total=len(ckpt.records), description="extract", enabled=progress):
        interrupt.check()  # Ctrl-C inside h5py's C code is often swallowed (paramstat/interrupt.py)
        raw.raise_error()  # disk full: stop at the first failed write
        arr = np.asarray(rec.read())
        if not arr.flags.c_contiguous:
            arr = arr.copy(order="C")  # (np.ascontiguousarray would turn a 0-d array into 1-d)
        if rec.dtype in RAW_BITS:
            arr = arr.view(RAW_BITS[rec.dtype])
        hpath = _path_for(rec, groups, leaves)
        kw = codec if (arr.ndim > 0 and arr.size >= COMPRESS_MIN) else {}
        ds = f.create_dataset(hpath, data=arr, chunks=True if kw else None, **kw)
        meta = rec.meta()
        meta["shape"] = json.dumps(list(rec.shape))
        for k, v in meta.items():
            if v is not None:
                ds.attrs[k] = _attr_value(v)
        if rec.dtype in RAW_BITS:
            ds.attrs["paramstat_dtype"] = rec.dtype
        if per_tensor is not None:
            extra = per_tensor(rec, arr) or {}
            for k, v in _flat_items(extra):
                k = str(k).replace("/", "_")
                if v is None:
                    continue
                if isinstance(v, np.ndarray) or isinstance(v, (list, tuple)) and len(v) > 0 \
                        and all(isinstance(x, (int, float, np.number)) for x in v):
                    f.create_dataset(f"_stats/{hpath}/{k}", data=np.asarray(v))
                else:
                    ds.attrs[f"stats.{k}"] = _attr_value(v)
        del arr
