"""A folder of weights: Hugging Face layout (model.safetensors.index.json, pytorch_model.bin.index.json,
model.safetensors, pytorch_model.bin; ``config.json`` names the architecture) or a folder with exactly one
weights file. A folder with several weights files and exactly one ``.safetensors`` reads that one and
warns, naming the files it ignored (e.g. a package's data folder: one .safetensors beside .jit/.onnx
exports of the same net); several ``.safetensors`` (or several files and none) are ambiguous: refused
with the list. Used by load() for a local folder and by the Hub (a snapshot is such a folder)."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from ..errors import ParamstatError
from ..record import Checkpoint
from .confine import inside
from .registry import ReadContext, get_reader, is_readable, read_file, reader_by_extension


def load_folder(p: Path, s: str, ctx: ReadContext) -> Checkpoint:
    """A folder of weights (see the module docstring); ``ctx.prov`` is merged into the provenance."""
    prov = dict(ctx.prov)
    cfg = p / "config.json"
    if cfg.exists():
        try:
            c = json.loads(cfg.read_text())
            arch = (c.get("architectures") or [None])[0] or c.get("model_type") or c.get("architecture")
            if arch:
                prov["arch"] = arch
            prov["hf_config"] = {k: c[k] for k in ("model_type", "architectures", "torch_dtype") if k in c}
        except (OSError, json.JSONDecodeError, AttributeError, UnicodeDecodeError, RecursionError, TypeError,
                IndexError):
            prov["hf_config"] = "unreadable"
    base = dataclasses.replace(ctx, prov=prov, warnings=[])
    for idx in ("model.safetensors.index.json", "pytorch_model.bin.index.json"):
        if (p / idx).exists():
            ck = get_reader("index").read(inside(p, idx, f"{idx} (a link)", s), s, base)
            ck.format = "hf-folder" if cfg.exists() else ck.format
            return ck
    for single in ("model.safetensors", "pytorch_model.bin"):
        if (p / single).exists():
            ck = read_file(inside(p, single, f"{single} (a link)", s), s, dataclasses.replace(base))
            ck.format = "hf-folder" if cfg.exists() else ck.format
            return ck
    files = sorted(f for f in p.iterdir() if f.is_file() and is_readable(f) and reader_by_extension(f).name != "index")
    st = [f for f in files if reader_by_extension(f).name == "safetensors"]
    pick = st if st else files
    if len(pick) == 1:
        ck = read_file(inside(p, pick[0].name, f"{pick[0].name} (a link)", s), s, dataclasses.replace(base))
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
