"""Moments against scipy.stats and the distributions' quantile functions."""
import numpy as np
import pytest
from scipy import stats

from paramstat.stats.moments import ROBUST_EXACT_MAX, ROBUST_SUBSAMPLE, moments


def oracle_robust(dist):
    """Tail weight and Moors kurtosis from the population quantiles, normalised to the normal's."""
    def raw(d):
        q = d.ppf
        tw = (q(.995) - q(.005)) / (q(.75) - q(.25))
        mk = ((q(.875) - q(.625)) + (q(.375) - q(.125))) / (q(.75) - q(.25))
        return tw, mk
    tn, mn = raw(stats.norm)
    tw, mk = raw(dist)
    return tw / tn, mk - mn


def test_plain_moments_match_scipy():
    x = stats.t(5).rvs(size=50_000, random_state=1).astype(np.float32)
    m = moments(x)
    x64 = x.astype(np.float64)
    assert m.n == x.size
    assert m.mean == pytest.approx(x64.mean(), rel=1e-12)
    assert m.std == pytest.approx(x64.std(), rel=1e-12)
    assert m.skew == pytest.approx(stats.skew(x64), rel=1e-9)
    assert m.kurt == pytest.approx(stats.kurtosis(x64), rel=1e-9)
    assert m.median == pytest.approx(np.median(x64), rel=1e-6)
    assert m.mad == pytest.approx(stats.median_abs_deviation(x64), rel=1e-6)
    assert m.robust_std == pytest.approx(stats.median_abs_deviation(x64, scale="normal"), rel=1e-6)
    assert (m.min, m.max) == (float(x.min()), float(x.max()))
    assert m.robust_n == x.size


@pytest.mark.parametrize("dist,plain_kurt", [
    (stats.norm(0, 0.05), 0.0), (stats.uniform(-0.1, 0.2), -1.2), (stats.laplace(0, 0.03), 3.0)])
def test_robust_values_follow_population(dist, plain_kurt):
    x = dist.rvs(size=400_000, random_state=2)
    m = moments(x)
    tw, mk = oracle_robust(dist)
    assert m.tail_weight == pytest.approx(tw, abs=0.03)
    assert m.robust_kurt == pytest.approx(mk, abs=0.02)
    assert m.kurt == pytest.approx(plain_kurt, abs=0.15)
    assert m.robust_std == pytest.approx(1.482602 * dist.ppf(0.75), rel=0.01)  # symmetric: MAD = q75


def test_single_outlier_trap():
    # trunc_normal_(std=.02) tensors can hold one exact 2.0 (BRIEF §3)
    x = (np.random.default_rng(3).standard_normal(100_000) * 0.02).astype(np.float32)
    a = moments(x)
    x[123] = 2.0
    b = moments(x)
    assert b.kurt > 500 and abs(a.kurt) < 0.1  # plain kurtosis explodes
    assert b.max == 2.0
    for f in ("median", "mad", "robust_std", "robust_kurt", "tail_weight"):
        va, vb = getattr(a, f), getattr(b, f)
        assert abs(vb - va) <= 1e-3 * max(abs(va), 0.02), f


def test_subsample_for_big_tensors_is_close_and_seeded():
    x = np.random.default_rng(4).laplace(0, 1, ROBUST_EXACT_MAX + 10).astype(np.float32)
    m = moments(x)
    assert m.robust_n == ROBUST_SUBSAMPLE
    assert m.median == pytest.approx(np.median(x), abs=0.01)
    assert m.robust_std == pytest.approx(stats.median_abs_deviation(x, scale="normal"), rel=0.01)
    assert moments(x).to_dict() == m.to_dict()  # deterministic
    assert moments(x, seed=1).median != m.median
    assert m.mean == pytest.approx(float(np.mean(x, dtype=np.float64)), rel=1e-12)  # plain: all values


def test_edge_cases():
    e = moments(np.array([], np.float32))
    assert e.n == 0 and np.isnan(e.mean)
    c = moments(np.ones(10, np.float32))
    assert c.std == 0 and np.isnan(c.kurt) and np.isnan(c.tail_weight) and c.median == 1
    m = moments(np.array([1.0, np.nan, 3.0, np.inf]))
    assert m.n == 2 and m.mean == 2.0
    d = moments(np.arange(10)).to_dict()
    assert isinstance(d["n"], int) and d["mean"] == 4.5


def test_moments_dots_run_on_one_blas_thread(monkeypatch):
    """stats.blas.limit(1) really limits BLAS (threadpoolctl's view), and moments' float64 dots run inside it
    (two BLAS threads stalled a 32k-value dot 50x on a busy 2-core machine)."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    import importlib

    from paramstat.stats import blas

    M = importlib.import_module("paramstat.stats.moments")  # the module (paramstat.stats.moments is the function)

    with blas.limit(1):
        libs = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
        assert libs and all(i["num_threads"] == 1 for i in libs)
    calls = []
    real = blas.limit
    monkeypatch.setattr(blas, "limit", lambda n=1: calls.append(n) or real(n))
    x = np.random.default_rng(5).standard_normal(5000)
    m = M.moments(x)
    assert calls == [1]
    assert m.kurt == pytest.approx(stats.kurtosis(x), rel=1e-9)
