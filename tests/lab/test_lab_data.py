"""Lab data sets: Shapeset-3x2 generator and the digits / MNIST-5k loaders."""
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paramstat.errors import ParamstatError
from paramstat.lab import shapeset
from paramstat.lab.datasets import load_dataset


@pytest.fixture(scope="module")
def shapes():
    return shapeset.generate(1800, seed=3, return_masks=True)


def test_shapeset_shapes_range_balance(shapes):
    X, y, _ = shapes
    assert X.shape == (1800, 1, 32, 32) and X.dtype == np.float32 and y.dtype == np.int64
    assert X.min() >= -1.0 and X.max() <= 1.0
    assert np.bincount(y, minlength=9).tolist() == [200] * 9


def test_shapeset_overlap_bound_and_shape_count(shapes):
    X, y, masks = shapes
    ov = shapeset.overlap(masks[:, 0], masks[:, 1])
    assert ov.max() <= shapeset.MAX_OVERLAP
    pair = np.array([len(shapeset.CLASSES[c]) == 2 for c in y])
    assert masks[pair, 1].sum(axis=(1, 2)).min() >= shapeset.MIN_PIXELS
    assert masks[~pair, 1].sum() == 0
    assert masks[:, 0].sum(axis=(1, 2)).min() >= shapeset.MIN_PIXELS
    # some pairs do overlap (otherwise the rejection step is untested)
    assert (ov[pair] > 0).mean() > 0.05


def test_shapeset_pixels_are_two_or_three_grey_levels(shapes):
    X, y, masks = shapes
    for i in range(50):
        levels = np.unique(X[i, 0])
        assert len(levels) <= 1 + len(shapeset.CLASSES[y[i]])
        # background is the pixel value outside every shape; in [-1,-0.1] or [0.1,1] (0-0.45 or swapped)
        outside = ~(masks[i, 0] | masks[i, 1])
        bg = np.unique(X[i, 0][outside])
        assert len(bg) == 1 and abs(bg[0]) >= 0.1 - 1e-6
        inside = X[i, 0][masks[i, 0] & ~masks[i, 1]]
        if inside.size:  # shape grey on the other side of 0 from the background
            assert np.sign(inside[0]) == -np.sign(bg[0])


def test_shapeset_area_triangle_smaller_than_ellipse():
    # same scale distribution: a triangle inscribed in a circle covers 0.41 of it, a 20-gon 0.98
    _, y, m = shapeset.generate(900, seed=1, return_masks=True)
    area = m[:, 0].sum(axis=(1, 2))
    tri, ell = area[y == 0].mean(), area[y == 2].mean()
    assert 0.3 < tri / ell < 0.6


def test_shapeset_determinism_and_seed():
    a = shapeset.generate(50, seed=7)
    b = shapeset.generate(50, seed=7)
    c = shapeset.generate(50, seed=8)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_shapeset_speed():
    t = time.process_time()  # CPU time: robust to a loaded machine
    X, _ = shapeset.generate(5000, seed=0)
    assert time.process_time() - t < 5.0  # 50k take ~2 s on one core of the dev machine
    assert X.shape[0] == 5000


@settings(max_examples=15, deadline=None)
@given(n=st.integers(0, 40), size=st.sampled_from([8, 16, 32]), seed=st.integers(0, 2**31))
def test_shapeset_any_size(n, size, seed):
    X, y = shapeset.generate(n, seed=seed, size=size)
    assert X.shape == (n, 1, size, size) and y.shape == (n,)
    assert (np.abs(X) <= 1).all()
    assert set(np.unique(y)) <= set(range(9))


def test_digits_split_fixed_and_disjoint():
    from sklearn.datasets import load_digits

    Xtr, ytr = load_dataset("digits", "train")
    Xte, yte = load_dataset("digits", "test")
    assert Xtr.shape == (1438, 1, 8, 8) and Xte.shape == (359, 1, 8, 8)
    assert Xtr.max() == 1.0 and Xtr.min() == 0.0
    d = load_digits()
    # every image is in exactly one split: compare row multisets
    allrows = np.concatenate([Xtr.reshape(-1, 64), Xte.reshape(-1, 64)]) * 16
    assert np.array_equal(np.sort(allrows.round().astype(int), axis=0), np.sort(d.data.astype(int), axis=0))
    assert np.array_equal(np.bincount(np.concatenate([ytr, yte])), np.bincount(d.target))
    # stratified: each class 20% +-1 in test
    assert np.all(np.abs(np.bincount(yte) - 0.2 * np.bincount(d.target)) <= 1)
    # same split for any seed; n picks a subset
    Xte2, _ = load_dataset("digits", "test", seed=5)
    assert np.array_equal(Xte, Xte2)
    Xs, ys = load_dataset("digits", "train", n=100, seed=1, flatten=True)
    assert Xs.shape == (100, 64)
    tr_rows = {r.tobytes() for r in Xtr.reshape(-1, 64)}
    assert all(r.tobytes() in tr_rows for r in Xs)


@pytest.mark.slow
def test_mnist5k_split():
    Xtr, ytr = load_dataset("mnist5k", "train", flatten=True)
    Xte, yte = load_dataset("mnist5k", "test")
    assert Xtr.shape == (4000, 784) and Xte.shape == (1000, 1, 28, 28)
    assert np.bincount(yte).tolist() == [100] * 10
    assert 0.0 <= Xtr.min() and Xtr.max() <= 1.0
    tr = {r.tobytes() for r in Xtr}
    assert sum(r.tobytes() in tr for r in Xte.reshape(-1, 784)) <= 5  # (duplicates in MNIST aside)


def test_shapeset_loader_train_test_differ():
    Xtr, ytr = load_dataset("shapeset", "train", n=90)
    Xte, yte = load_dataset("shapeset", "test", n=90)
    assert Xtr.shape == (90, 1, 32, 32) and not np.array_equal(Xtr, Xte)
    Xtr[:] = 0  # copies: the cache is not modified
    assert not np.array_equal(load_dataset("shapeset", "train", n=90)[0], Xtr)


def test_unknown_dataset_error():
    with pytest.raises(ParamstatError, match="unknown data set"):
        load_dataset("cifar")
    with pytest.raises(ParamstatError, match="split"):
        load_dataset("digits", "val")
