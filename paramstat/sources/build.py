"""Turn a list of stored entries (name, shape, dtype, lazy reader) into a Checkpoint: strip wrapper
prefixes, assign roles (the one decision: `build`), number the records in network order."""
from __future__ import annotations

import hashlib
import struct
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ParamstatError
from ..record import Checkpoint, TensorRecord
from .align import align_to_architecture, same_shapes_in_order, strip_prefixes
from .limits import check_bytes, check_count, numel
from .roles import RoleInfo, infer_roles


@dataclass
class Entry:
    stored_name: str
    shape: tuple[int, ...]
    dtype: str
    reader: Callable[[], np.ndarray]
    name: str | None = None       # canonical name before prefix stripping (default: stored_name)


def sha256_file(path: str | Path, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(chunk)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def file_provenance(p: Path, hash: bool = True) -> dict:
    """path, size and sha256 of a file (sha256 None with ``hash=False``: one full read less)."""
    return {"path": str(p.resolve()), "file_size": p.stat().st_size, "sha256": sha256_file(p) if hash else None}


def itemsize(dtype: str) -> int:
    """Bytes per element of a paramstat dtype name (bf16 2, fp8 1; unknown names 1)."""
    if dtype == "bfloat16":
        return 2
    if dtype.startswith("float8"):
        return 1
    try:
        return np.dtype(dtype).itemsize
    except TypeError:
        return 1


def check_entries(entries: list[Entry], path: str) -> None:
    """The bounds every reader shares, before any value is read: at most limits.MAX_TENSORS tensors, no
    negative dimension, no tensor over ``--max-tensor-bytes``."""
    check_count(len(entries), path)
    for e in entries:
        if any(int(d) < 0 for d in e.shape):
            raise ParamstatError(f"tensor {e.stored_name[:60]!r} has a negative dimension {tuple(e.shape)}",
                                 path=path, hint="the file is corrupt or hostile")
        check_bytes(numel(e.shape) * itemsize(e.dtype), f"tensor {e.stored_name[:60]!r}", path)


# what reading a tensor's bytes raises when the file is corrupt, truncated or changed since it was opened
READ_ERRORS = (OSError, EOFError, ValueError, MemoryError, KeyError, IndexError, RuntimeError, struct.error,
               zipfile.BadZipFile, RecursionError, OverflowError)


def guarded_reader(reader, name: str, path: str):
    """``reader`` whose failures on a corrupt file are one ParamstatError naming the tensor and the file."""
    if reader is None:
        return None

    def read(**kw):
        try:
            return reader(**kw)
        except ParamstatError:
            raise
        except READ_ERRORS as e:
            first = next((ln.strip() for ln in str(e).splitlines() if ln.strip()), "no message")[:120]
            raise ParamstatError(f"cannot read tensor {name[:60]!r} ({type(e).__name__}: {first})", path=path,
                                 hint="the file is truncated, corrupt or changed while reading") from e
    read.widens = getattr(reader, "widens", False)
    return read


class ArchitectureRoles(dict):
    """An architecture's roles: canonical name -> RoleInfo in the architecture's key order, with the
    tensor shapes (same order) that `build` uses to match foreign key names by position and shape."""

    def __init__(self, infos: dict[str, RoleInfo], shapes: dict[str, tuple[int, ...]], model: str):
        super().__init__(infos)
        self.shapes = shapes
        self.model = model


def build(entries: list[Entry], *, source: str, format: str, provenance: dict | None = None,
          warnings: list[str] | None = None, roles: dict[str, RoleInfo] | None = None,
          order: list[str] | None = None, path: str | None = None,
          known: dict[str, RoleInfo] | None = None, framework: str | None = None) -> Checkpoint:
    """Records in the given entry order (or in ``order``, the architecture's key order, when given).

    The one role decision for stored tensors, first that applies wins:
      1. ``roles`` (an architecture, canonical name -> RoleInfo), by name; when fewer than half the
         keys match by name but every tensor matches the architecture's by position and shape
         (``roles`` an `ArchitectureRoles`; e.g. lukemelas' EfficientNet keys for timm's), by position;
      2. without an architecture, ``known``: what the reader knows (stored name -> RoleInfo from Keras
         layer classes, ONNX consuming nodes, TorchScript module classes);
      3. roles.infer_roles from names and shapes.
    Keys the architecture lacks are listed in the warnings. ``path`` names the file in the
    empty-checkpoint error.
    """
    warnings = list(warnings or [])
    if not entries:
        raise ParamstatError("no tensors found in this checkpoint", path=path or source,
                             hint="check that it is a weights file (state dict / safetensors) and not empty")
    check_entries(entries, path or source)
    names, removed = strip_prefixes([e.name or e.stored_name for e in entries])
    if removed:
        warnings.append(f"wrapper prefix '{removed}' removed from every key")
    if roles is not None:
        names, extra = align_to_architecture(names, roles)
        if extra:
            warnings.append(f"prefix '{extra}' removed from every key to match the architecture")
    dup = {n for n, c in Counter(names).items() if c > 1}
    if dup:
        raise ParamstatError(f"duplicate tensor names after prefix stripping: {sorted(dup)[:5]}",
                             path=path or source, hint="the file holds two copies of the same key")
    inferred = infer_roles([(n, e.shape, e.dtype) for n, e in zip(names, entries)])
    idx = list(range(len(entries)))
    if order is not None:
        pos = {k: i for i, k in enumerate(order)}
        idx.sort(key=lambda i: (pos.get(names[i], len(pos)), i))
    by_position = _by_position(roles, [names[i] for i in idx], [entries[i].shape for i in idx])
    infos: list[RoleInfo] = []
    unmatched: list[str] = []
    for n, e, inf in zip(names, entries, inferred):
        if roles is not None and n in roles:
            infos.append(roles[n])
        elif roles is None and known is not None and e.stored_name in known:
            infos.append(known[e.stored_name])
        else:
            if roles is not None:
                unmatched.append(n)
            infos.append(inf)
    if by_position is not None:
        for i, info in zip(idx, by_position):
            infos[i] = info
    elif roles is not None:
        if unmatched:
            warnings.append(f"{len(unmatched)} key(s) not in the architecture, roles inferred from names: "
                            + ", ".join(unmatched[:8]) + (" ..." if len(unmatched) > 8 else ""))
        missing = [k for k in roles if k not in set(names)]
        if missing:
            warnings.append(f"{len(missing)} architecture key(s) missing from the file: "
                            + ", ".join(missing[:8]) + (" ..." if len(missing) > 8 else ""))
    records = []
    for depth, i in enumerate(idx):
        e, inf = entries[i], infos[i]
        records.append(TensorRecord(
            name=names[i], stored_name=e.stored_name, dtype=e.dtype, shape=tuple(int(s) for s in e.shape),
            role=inf.role, depth=depth, module_type=inf.module_type, fan_in=inf.fan_in, fan_out=inf.fan_out,
            groups=inf.groups, reader=guarded_reader(e.reader, e.stored_name, path or source),
            hidden_size=inf.hidden_size, framework=framework,
        ))
    prov = {"source": source, "format": format}
    prov.update(provenance or {})
    if by_position is not None:
        model = roles.model
        warnings.append(f"keys differ from {model}'s names: roles matched by position and shape "
                        f"(all {len(roles)} tensors agree)")
        prov["roles_from"] = f"timm architecture {model}, matched by position and shape"
    return Checkpoint(source=source, format=format, records=records, provenance=prov, warnings=warnings)


def _by_position(roles, names: list[str], shapes: list) -> list[RoleInfo] | None:
    """The architecture's RoleInfos by position when fewer than half the (ordered) keys match its names
    and every tensor has the shape of the architecture's tensor at the same position; else None."""
    if not isinstance(roles, ArchitectureRoles):
        return None
    if sum(n in roles for n in names) * 2 >= len(names):
        return None
    if not same_shapes_in_order(shapes, list(roles.shapes.values())):
        return None
    return list(roles.values())
