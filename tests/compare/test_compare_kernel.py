"""paramstat.compare building blocks against independent oracles: scipy.stats, numpy, torch casts."""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats as st
from hypothesis import given, settings
from hypothesis import strategies as hs
from hypothesis.extra.numpy import arrays

from paramstat.compare import relation as R
from paramstat.compare.align import align
from paramstat.compare.casts import cast_relation, f32_to_bf16_bits
from paramstat.compare.kernel import pair_sums
from paramstat.compare.metrics import ks_w1, moments_from_sums, pair_moments, pearson, rel_change
from paramstat.record import Checkpoint, TensorRecord

finite32 = hs.floats(-1e3, 1e3, allow_nan=False, width=32)


def _flips_oracle(ua: np.ndarray, ub: np.ndarray) -> np.ndarray:
    x = (ua ^ ub).astype(np.uint64)
    return np.array([int(((x >> np.uint64(k)) & np.uint64(1)).sum()) for k in range(8 * ua.itemsize)])


@settings(max_examples=40, deadline=None)
@given(arrays(np.float32, hs.integers(3, 300), elements=finite32), hs.integers(0, 2**31 - 1))
def test_pair_sums_match_scipy(a, seed):
    rng = np.random.default_rng(seed)
    b = (a + rng.normal(0, 0.5, a.size)).astype(np.float32)
    same = rng.random(a.size) < 0.3
    b[same] = a[same]
    s = pair_sums(a, "float32", b, "float32", shift_a=float(a[0]), shift_b=0.25, use_numba=False)
    ma, mb = pair_moments(s)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    assert ma.mean == pytest.approx(a64.mean(), rel=1e-9, abs=1e-9)
    assert mb.std == pytest.approx(b64.std(), rel=1e-7, abs=1e-9)
    if a64.std() > 1e-3 * (abs(a64).max() + 1e-30):
        assert ma.skew == pytest.approx(st.skew(a64), rel=1e-5, abs=1e-6)
        assert ma.kurt == pytest.approx(st.kurtosis(a64), rel=1e-5, abs=1e-6)
    na = np.linalg.norm(a64)
    if na > 0:
        assert rel_change(s) == pytest.approx(np.linalg.norm(b64 - a64) / na, rel=1e-9)
    assert s.max_abs_diff == pytest.approx(np.abs(b64 - a64).max())
    assert s.n_value_equal == int(np.sum(a == b))
    assert s.n_bits_equal == int(np.sum(a.view(np.uint32) == b.view(np.uint32)))
    np.testing.assert_array_equal(s.flips, _flips_oracle(a.view(np.uint32), b.view(np.uint32)))
    if a64.std() > 1e-6 and b64.std() > 1e-6:
        assert pearson(s, ma, mb) == pytest.approx(st.pearsonr(a64, b64).statistic, abs=1e-7)


def test_moments_stable_with_large_offset():
    """Shifted sums: a BN-like tensor 1 + 1e-3 * N(0,1) keeps its kurtosis (raw power sums would not)."""
    rng = np.random.default_rng(1)
    x = 1.0 + 1e-3 * rng.standard_normal(100_000)
    s = np.sum
    d = x - x[:100].mean()
    m = moments_from_sums(x.size, float(x[:100].mean()), s(d), s(d**2), s(d**3), s(d**4))
    assert m.kurt == pytest.approx(st.kurtosis(x), abs=1e-6)
    assert m.std == pytest.approx(x.std(), rel=1e-9)


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_numba_matches_numpy(dtype):
    pytest.importorskip("numba")
    import torch

    rng = np.random.default_rng(2)
    a = rng.normal(0, 0.02, 50_001).astype(np.float32)
    b = a + rng.normal(0, 1e-3, a.size).astype(np.float32)
    b[::3] = a[::3]
    a[7] = np.nan
    if dtype == "bfloat16":
        a = torch.from_numpy(a).bfloat16().view(torch.uint16).numpy()
        b = torch.from_numpy(b).bfloat16().view(torch.uint16).numpy()
    s1 = pair_sums(a, dtype, b, dtype, 0.001, -0.002, use_numba=True)
    s2 = pair_sums(a, dtype, b, dtype, 0.001, -0.002, use_numba=False)
    for f in s1.__dataclass_fields__:
        v1, v2 = getattr(s1, f), getattr(s2, f)
        if isinstance(v1, np.ndarray):
            np.testing.assert_array_equal(v1, v2)
        else:
            assert v1 == pytest.approx(v2, rel=1e-9, abs=1e-12), f
    assert s1.n_finite == a.size - 1


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, hs.integers(1, 60), elements=hs.integers(-5, 5).map(float)),
       arrays(np.float64, hs.integers(1, 60), elements=hs.floats(-5, 5)))
def test_ks_w1_match_scipy(x, y):
    d, w1 = ks_w1(x, y)
    assert d == pytest.approx(st.ks_2samp(x, y).statistic, abs=1e-12)
    assert w1 == pytest.approx(st.wasserstein_distance(x, y), rel=1e-9, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float32, hs.integers(1, 200), elements=hs.floats(width=32, allow_nan=False)))
def test_bf16_rounding_matches_torch(x):
    import torch

    want = torch.from_numpy(x.copy()).bfloat16().view(torch.uint16).numpy()
    np.testing.assert_array_equal(f32_to_bf16_bits(x), want)


def test_cast_relation_cases():
    import torch

    rng = np.random.default_rng(3)
    a = rng.normal(0, 0.05, 4096).astype(np.float32)
    bf = torch.from_numpy(a).bfloat16()
    assert cast_relation(a, "float32", bf.view(torch.uint16).numpy(), "bfloat16") == "A->bfloat16"
    assert cast_relation(a.astype(np.float16), "float16", a, "float32") == "B->float16"
    rt = bf.float().numpy()
    assert cast_relation(a, "float32", rt, "float32") == "B = A via bfloat16"
    assert cast_relation(rt, "float32", a, "float32") == "A = B via bfloat16"
    rt16 = a.astype(np.float16).astype(np.float32)
    assert cast_relation(a, "float32", rt16, "float32") == "B = A via float16"
    moved = a.copy()
    moved[0] += 1e-3
    assert cast_relation(a, "float32", torch.from_numpy(moved).bfloat16().float().numpy(), "float32") is None
    # a constant init that moved a little is not a cast (BN weight 1 -> 1 +- 1e-4)
    ones = np.ones(64, np.float32)
    assert cast_relation(ones, "float32", ones + 1e-4 * rng.standard_normal(64).astype(np.float32),
                         "float32") is None


def test_tensor_relation_rules():
    n = 10_000
    assert R.tensor_relation(identical=True, cast=None, rel_change=0.0, corr=1.0, n=n) == R.IDENTICAL
    assert R.tensor_relation(identical=False, cast="A->bfloat16", rel_change=1e-3, corr=1, n=n) == R.CAST
    assert R.tensor_relation(identical=False, cast=None, rel_change=0.05, corr=0.99, n=n) == R.FINE_TUNED
    thr = R.independence_threshold(n)
    assert thr == pytest.approx(max(R.INDEPENDENT_Z / 100, R.INDEPENDENT_MIN_CORR))
    assert R.tensor_relation(identical=False, cast=None, rel_change=1.4, corr=thr / 2, n=n) == R.INDEPENDENT
    assert R.tensor_relation(identical=False, cast=None, rel_change=1.0, corr=0.5, n=n) == R.RETRAINED
    assert R.tensor_relation(identical=False, cast=None, rel_change=math.inf, corr=math.nan, n=n) is None
    assert R.tensor_relation(identical=False, cast=None, rel_change=0.5, corr=0.9, n=R.MIN_N_CORR - 1) is None
    assert R.pair_relation([(R.IDENTICAL, 10), (R.CAST, 5)]) == R.CAST
    assert R.pair_relation([(R.IDENTICAL, 10**6), (R.FINE_TUNED, 10), (R.INDEPENDENT, 5)]) == R.FINE_TUNED
    assert R.pair_relation([(R.INDEPENDENT, 100), (R.RETRAINED, 99), (None, 10**6)]) == R.INDEPENDENT
    assert R.pair_relation([(R.IDENTICAL, 3), (None, 3)]) == R.RETRAINED
    assert R.pair_relation([]) is None


def _ck(spec: dict) -> Checkpoint:
    recs = [TensorRecord(name=k, stored_name=k, dtype="float32", shape=s, role="other", depth=i,
                         reader=lambda s=s: np.zeros(s, np.float32)) for i, (k, s) in enumerate(spec.items())]
    return Checkpoint(source="t", format="test", records=recs)


def test_align_prefix_unmatched_and_shapes():
    a = _ck({"backbone.l1.weight": (4, 3), "backbone.l2.weight": (2, 4), "backbone.extra": (1,),
             "head.weight": (2, 2)})
    b = _ck({"l1.weight": (4, 3), "l2.weight": (2, 5), "head.weight": (2, 2), "new.bias": (3,)})
    al = align(a, b)
    assert al.prefix_removed == {"a": "backbone."}
    assert [(x.name, y.name) for x, y in al.pairs] == [("backbone.l1.weight", "l1.weight"),
                                                       ("head.weight", "head.weight")]
    assert al.shape_mismatch == [{"name": "backbone.l2.weight", "shape_a": [2, 4], "shape_b": [2, 5]}]
    assert al.only_in_a == ["backbone.extra"]
    assert al.only_in_b == ["new.bias"]
