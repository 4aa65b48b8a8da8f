"""Sharded checkpoints: a ``*.index.json`` (``weight_map`` key -> shard file) over safetensors or torch shards;
each shard hashed into the provenance (``shards``), keys the index names but no shard holds are warned about."""
from __future__ import annotations

from pathlib import Path

from ...record import Checkpoint
from ..build import Entry, build, sha256_file
from ..registry import register_reader
from .safetensors_file import entries_from_file, read_index
from .torch_pickle import torch_entries


@register_reader("index", extensions=(".index.json",))
def read(p: Path, s: str, ctx) -> Checkpoint:
    """A sharded checkpoint's ``*.index.json``: every shard (safetensors or torch) in index order."""
    roles, order, trust_pickle, hash = ctx.roles, ctx.order, ctx.trust_pickle, ctx.hash
    prov, warnings = dict(ctx.prov), list(ctx.warnings)

    shards, info = read_index(p)
    entries: list[Entry] = []
    fmt = "safetensors-sharded"
    prov["index"] = str(p.resolve())
    prov["shards"] = {}
    for sp in shards:
        if sp.name.endswith(".safetensors"):
            e, _meta = entries_from_file(sp)
            prov["order"] = _meta.get("paramstat_order")
        else:
            fmt = "torch-sharded"
            e, w, _mod = torch_entries(sp, str(sp), trust_pickle)
            warnings.extend(w)
        entries.extend(e)
        prov["shards"][sp.name] = sha256_file(sp) if hash else None
    wm = info["weight_map"]
    names = {e.stored_name for e in entries}
    missing = [k for k in wm if k not in names]
    if missing:
        warnings.append(f"{len(missing)} key(s) in the index are in no shard: " + ", ".join(missing[:5]))
    if info["metadata"]:
        prov["index_metadata"] = info["metadata"]
    return build(entries, source=s, format=fmt, provenance=prov, warnings=warnings, roles=roles,
                 order=order, path=s)
