"""Whatever the user hands to compare() -> a Checkpoint: a Checkpoint as is, an nn.Module or a state dict
(via paramstat.sources.checkpoint_from_module / a plain adapter), anything else through paramstat.sources.load."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..record import Checkpoint, TensorRecord


def _state_dict_checkpoint(sd: Mapping, source: str) -> Checkpoint:
    """Records straight from a {name: tensor or ndarray} mapping (roles from names and shapes)."""
    from ..dtypes import torch_to_numpy
    from ..sources import infer_roles

    arrays: dict[str, tuple[np.ndarray, str]] = {}
    for name, t in sd.items():
        if hasattr(t, "detach"):
            arrays[name] = torch_to_numpy(t)
        else:
            a = np.asarray(t)
            arrays[name] = (a, str(a.dtype))
    roles = _roles(infer_roles, [(k, tuple(v[0].shape), v[1]) for k, v in arrays.items()])
    records = []
    for i, (name, (arr, dt)) in enumerate(arrays.items()):
        info = roles[i] if i < len(roles) else None
        records.append(TensorRecord(
            name=name, stored_name=name, dtype=dt, shape=tuple(arr.shape),
            role=getattr(info, "role", "other"), depth=i, fan_in=getattr(info, "fan_in", None),
            fan_out=getattr(info, "fan_out", None), groups=getattr(info, "groups", None),
            reader=(lambda a=arr: a)))
    return Checkpoint(source=source, format="state_dict", records=records, provenance={"source": source})


def _roles(infer_roles, items: list) -> list:
    """infer_roles([(name, shape, dtype)]) from sources; [] if it fails (roles are a nicety here)."""
    try:
        return list(infer_roles(items))
    except Exception:  # noqa: BLE001
        return []


def to_checkpoint(x, *, fresh: bool = False, seed: int = 0, **load_kwargs) -> Checkpoint:
    if isinstance(x, Checkpoint):
        return x
    try:
        import torch
        is_module = isinstance(x, torch.nn.Module)
    except ImportError:  # pragma: no cover
        is_module = False
    if is_module:
        from ..sources import checkpoint_from_module

        return checkpoint_from_module(x, source=type(x).__name__)
    if isinstance(x, Mapping):
        return _state_dict_checkpoint(x, "<state_dict>")
    fast = _safetensors_unhashed(x) if not load_kwargs.get("model") else None
    if fast is not None:
        return fast
    from ..sources import load

    return load(str(x), fresh=fresh, seed=seed, **load_kwargs)


def _safetensors_unhashed(x) -> Checkpoint | None:
    """A single .safetensors file through the sources' own reader and builder, minus the provenance
    sha256: hashing is one more full read of each file (a third of the wall time of a 2-billion-parameter
    compare), and compare reads every byte anyway. None for anything else (then load() decides)."""
    from pathlib import Path

    p = Path(str(x))
    if p.suffix != ".safetensors" or not p.is_file():
        return None
    try:
        from ..sources.build import build
        from ..sources.safetensors_source import entries_from_file
    except ImportError:
        return None
    entries, meta = entries_from_file(p)
    prov = {"source": str(x), "format": "safetensors", "path": str(p.resolve()), "file_size": p.stat().st_size,
            "sha256": None}
    if meta:
        prov["safetensors_metadata"] = meta
    return build(entries, source=str(x), format="safetensors", provenance=prov, path=str(x))
