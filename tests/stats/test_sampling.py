"""stats.sampling reproduces, draw for draw, each subsampling routine it replaced (hand-written numpy
references below), and seeds by (seed, key, streams) as documented."""
import zlib

import numpy as np
import pytest

from paramstat.stats import sampling as S

X = np.random.default_rng(42).standard_normal(5000)


def test_rng_words():
    assert S.rng(3).random() == np.random.default_rng(3).random()
    assert S.rng(3, "a.b").random() == np.random.default_rng([3, zlib.crc32(b"a.b")]).random()
    assert S.rng(3, "a.b", 7).random() == np.random.default_rng([3, zlib.crc32(b"a.b"), 7]).random()
    assert S.rng(None, "a.b").random() == np.random.default_rng(zlib.crc32(b"a.b")).random()
    assert S.rng(3, "a").random() != S.rng(3, "b").random()


def test_small_input_comes_back_whole():
    assert S.subsample(X, X.size) is not None and np.array_equal(S.subsample(X, X.size), X)
    assert S.sample_index(10, 10) is None
    w = X[:600].reshape(20, 30)
    assert S.crop(w, 20, 30) is w


@pytest.mark.parametrize("seed", [0, 5])
def test_with_replacement_matches_integers(seed):  # features / moments / signatures
    ref = X[np.random.default_rng(seed).integers(0, X.size, 700)]
    assert np.array_equal(S.subsample(X, 700, seed=seed), ref)


def test_without_replacement_matches_choice():  # fits / native check
    ref = X[np.random.default_rng(1).choice(X.size, 700, replace=False)]
    out = S.subsample(X, 700, seed=1, replace=False)
    assert np.array_equal(out, ref) and np.unique(out).size == 700


def test_keyed_sorted_index_matches_compare():  # compare.metrics.subsample_index
    ref = np.sort(np.random.default_rng([0, zlib.crc32(b"fc.weight")]).integers(0, X.size, 300))
    assert np.array_equal(S.sample_index(X.size, 300, key="fc.weight", sort=True), ref)


def test_profile_key_only():  # init.profile: default_rng(crc32(name)).choice
    ref = X[np.random.default_rng(zlib.crc32(b"conv1.weight")).choice(X.size, 400, replace=False)]
    assert np.array_equal(S.subsample(X, 400, seed=None, key="conv1.weight", replace=False), ref)


def test_shared_generator_matches_array_choice():  # plot data: one rng over several tensors
    g1, g2 = np.random.default_rng(0), np.random.default_rng(0)
    ref = [g1.choice(X, 100, replace=False), g1.choice(X[:3000], 100, replace=False)]
    out = [S.subsample(X, 100, replace=False, rng=g2), S.subsample(X[:3000], 100, replace=False, rng=g2)]
    assert all(np.array_equal(a, b) for a, b in zip(ref, out))


def test_crop_rows_then_cols():  # spectral / features._crop / compare.metrics.matrix_view
    w = X.reshape(50, 100)
    g = np.random.default_rng([0, zlib.crc32(b"k"), 7])
    r = np.sort(g.choice(50, 20, replace=False))
    c = np.sort(g.choice(100, 30, replace=False))
    assert np.array_equal(S.crop(w, 20, 30, key="k", streams=(7,)), w[r][:, c])
    assert S.crop(w, 100, 30).shape == (50, 30)
