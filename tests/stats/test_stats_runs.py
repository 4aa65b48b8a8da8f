"""Runs test against statsmodels (correction=False) and exact rational arithmetic."""
from fractions import Fraction
from math import erfc, sqrt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.sandbox.stats.runs import runstest_1samp

from paramstat.stats.runs import axis_runs, pooled_runs, runs_test, runs_z_from_counts, value_runs


def sm(x, cutoff=0.5):
    return runstest_1samp(np.asarray(x, dtype=float), cutoff=cutoff, correction=False)


def exact_z(n, n1, runs):
    """Z from exact rationals (Python ints never overflow)."""
    n0 = n - n1
    mu = Fraction(2 * n0 * n1, n) + 1
    var = Fraction(2 * n0 * n1 * (2 * n0 * n1 - n), n * n * (n - 1))
    return float((runs - mu) / Fraction(sqrt(var)))  # sqrt in float: fine to ~1e-15 relative


@pytest.mark.parametrize("n,p1,seed", [(50, 0.5, 0), (1000, 0.3, 1), (100_000, 0.9, 2), (49, 0.5, 3)])
def test_random_matches_statsmodels(n, p1, seed):
    b = np.random.default_rng(seed).random(n) < p1
    r = runs_test(b)
    z, p = sm(b)
    assert not r.constant
    assert r.z == pytest.approx(z, abs=1e-9)
    assert r.p == pytest.approx(p, abs=1e-9)
    assert r.n == n and r.n1 == b.sum()


def test_alternating_and_blocks():
    alt = np.arange(1000) % 2 == 0
    r = runs_test(alt)
    assert r.runs == 1000
    assert r.z == pytest.approx(sm(alt)[0], abs=1e-9)
    assert r.z > 30  # far too many runs
    blocks = np.repeat([True, False], 500)
    r = runs_test(blocks)
    assert r.runs == 2
    assert r.z == pytest.approx(sm(blocks)[0], abs=1e-9)
    assert r.z < -30


def test_constant_is_reported_not_faked():
    for b in (np.zeros(100, bool), np.ones(100, bool), np.ones(1, bool)):
        r = runs_test(b)
        assert r.constant and np.isnan(r.z) and np.isnan(r.p)
    # statsmodels returns a fake z (e.g. -37.5 for n >= 1024) for a constant sequence
    assert sm(np.zeros(2000, bool))[0] < -30


def test_n2_n3():
    r = runs_test(np.array([0, 1], bool))  # var = 0: no Z, but not constant
    assert not r.constant and np.isnan(r.z)
    with np.errstate(invalid="ignore", divide="ignore"):
        assert np.isnan(sm([0, 1])[0])  # statsmodels agrees: 0/0
    r = runs_test(np.array([0, 1, 0], bool))
    # hand: n1=1, n0=2: mu = 2*2/3 + 1 = 7/3, var = 4*(4-3)/(9*2) = 2/9, R = 3
    assert r.z == pytest.approx((3 - 7 / 3) / sqrt(2 / 9), abs=1e-12)
    assert r.z == pytest.approx(sm([0, 1, 0])[0], abs=1e-9)
    assert r.p == pytest.approx(erfc(abs(r.z) / sqrt(2)), abs=1e-12)


def test_n_1e7_closed_form():
    # period-7 pattern 1101000: n1 = 3 per period, 4 runs per period (+ joins between periods)
    pat = np.array([1, 1, 0, 1, 0, 0, 0], bool)
    k = 10_000_000 // 7
    b = np.tile(pat, k)
    n, n1 = b.size, 3 * k
    runs = 4 * k  # runs 11|0|1|000; the next period starts a new run with 11
    r = runs_test(b)
    assert (r.n, r.n1, r.runs) == (n, n1, runs)
    assert r.z == pytest.approx(exact_z(n, n1, runs), rel=1e-9, abs=1e-9)


def test_overflow_safe_beyond_2_31():
    n, n1 = 2**33 + 5, 2**32 + 1
    runs = 2**32 + 7
    z, p, c = runs_z_from_counts(n, n1, runs)
    assert not c
    assert float(z) == pytest.approx(exact_z(n, n1, runs), abs=1e-6)
    assert abs(float(z)) < 1.0
    # what int64 products would give: a false, huge |Z|
    with np.errstate(over="ignore"):
        npn = np.int64(n1) * np.int64(n - n1)
        bad = 2 * npn * (2 * npn - n)
    assert bad != 2 * (n1 * (n - n1)) * (2 * n1 * (n - n1) - n)
    # vectorized form with huge counts
    z2, _, _ = runs_z_from_counts(np.array([n, n]), np.array([n1, 0]), np.array([runs, 1]))
    assert z2[0] == pytest.approx(float(z), abs=1e-12) and np.isnan(z2[1])


@pytest.mark.parametrize("about", ["median", "mean"])
def test_value_runs_matches_statsmodels(about):
    x = np.random.default_rng(5).standard_t(3, size=(64, 9)).astype(np.float32)
    r = value_runs(x, about)
    z, p = sm(x.reshape(-1).astype(np.float64), cutoff=about)
    assert r.z == pytest.approx(z, abs=1e-9) and r.p == pytest.approx(p, abs=1e-9)


def test_value_runs_smooth_kernel_is_negative():
    # smooth 'trained-like' rows: long runs -> strongly negative Z
    t = np.linspace(0, 20 * np.pi, 20_000)
    assert value_runs(np.sin(t)).z < -50


def _pooled_oracle(rows):
    R = mu = var = 0.0
    for row in rows:
        row = [int(v) for v in row]
        L, n1 = len(row), sum(row)
        R += 1 + sum(row[i] != row[i + 1] for i in range(L - 1))
        npn = n1 * (L - n1)
        mu += 2 * npn / L + 1
        if npn > 0 and L > 1:
            var += 2 * npn * (2 * npn - L) / L**2 / (L - 1)
    return (R - mu) / sqrt(var)


def test_pooled_counts_only_within_slices():
    b = np.array([[1, 1, 0, 0], [0, 1, 1, 0], [1, 0, 1, 0]], bool)
    r = pooled_runs(b)
    assert r.runs == 2 + 3 + 4 and r.n_slices == 3
    assert r.z == pytest.approx(_pooled_oracle(b), abs=1e-12)
    # rows constant on their own: no within-slice information even though the whole is not constant
    r = pooled_runs(np.array([[1, 1, 1], [0, 0, 0]], bool))
    assert np.isnan(r.z)
    # one slice == plain runs test
    row = np.random.default_rng(1).random(300) < 0.4
    assert pooled_runs(row[None]).z == pytest.approx(runs_test(row).z, abs=1e-12)


def test_axis_runs_conv_orders():
    rng = np.random.default_rng(2)
    w = rng.standard_normal((6, 5, 3, 3))
    med = np.median(w)
    b = w >= med
    res = axis_runs(w)
    assert set(res) == {"kernel", "in_channels", "out_channels"}
    kern = [b[o, i].reshape(-1) for o in range(6) for i in range(5)]
    inch = [b[o, :, h, k] for o in range(6) for h in range(3) for k in range(3)]
    outch = [b[:, i, h, k] for i in range(5) for h in range(3) for k in range(3)]
    assert res["kernel"].z == pytest.approx(_pooled_oracle(kern), abs=1e-12)
    assert res["in_channels"].z == pytest.approx(_pooled_oracle(inch), abs=1e-12)
    assert res["out_channels"].z == pytest.approx(_pooled_oracle(outch), abs=1e-12)
    # linear layers: rows and columns
    lin = axis_runs(w[:, :, 0, 0])
    assert set(lin) == {"in_channels", "out_channels"}
    assert axis_runs(w[0, 0, 0])["memory"].n == 3


@settings(max_examples=60, deadline=None)
@given(st.lists(st.booleans(), min_size=3, max_size=400))
def test_invariant_under_complement_and_reversal(bits):
    b = np.array(bits, bool)
    r = runs_test(b)
    for other in (runs_test(~b), runs_test(b[::-1])):
        assert other.runs == r.runs
        if np.isnan(r.z):
            assert np.isnan(other.z)
        else:
            assert other.z == pytest.approx(r.z, abs=1e-12)
    if not r.constant and not np.isnan(r.z):
        assert r.z == pytest.approx(sm(b)[0], abs=1e-9)


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 6), st.integers(2, 12), st.integers(0, 2**32 - 1))
def test_pooled_matches_bruteforce(m, L, seed):
    b = np.random.default_rng(seed).random((m, L)) < 0.5
    r = pooled_runs(b)
    assert r.runs == sum(1 + int(np.sum(row[1:] != row[:-1])) for row in b)
    assert r.n1 == int(b.sum()) and r.n == m * L
    try:
        z = _pooled_oracle(b)
    except ZeroDivisionError:  # no slice carries within-slice information
        assert np.isnan(r.z)
    else:
        assert r.z == pytest.approx(z, abs=1e-9)
