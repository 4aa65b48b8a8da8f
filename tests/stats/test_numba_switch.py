"""One PARAMSTAT_NO_NUMBA switch for both kernels (bit counts and the fused compare pass): the numpy
path then runs and gives the same integer counts (and the same sums to rounding)."""
import numpy as np
import pytest

from paramstat.compare import kernel as K
from paramstat.stats import _bitkernel, _numba


def _data():
    g = np.random.default_rng(0)
    a = g.standard_normal(300_000).astype(np.float32)
    return a, (a + g.standard_normal(a.size).astype(np.float32) * 1e-3).astype(np.float32)


def test_switch_turns_both_kernels_off(monkeypatch):
    monkeypatch.setenv(_numba.ENV, "1")
    assert not _numba.enabled()
    assert _bitkernel.get_kernel() is None and K.get_kernel() is None
    assert not _numba.worth(10**9, big=1)
    with pytest.raises(RuntimeError, match="PARAMSTAT_NO_NUMBA"):
        _bitkernel.bit_counts(np.zeros(8192, np.uint32), use_numba=True)
    a, b = _data()
    with pytest.raises(RuntimeError, match="PARAMSTAT_NO_NUMBA"):
        K.pair_sums(a, "float32", b, "float32", use_numba=True)


def test_worth_policy():
    assert _numba.worth(1 << 22, big=1 << 22) and not _numba.worth((1 << 22) - 1, big=1 << 22)
    assert _numba.worth(5000, big=1 << 22, sticky=True, is_loaded=True)
    assert not _numba.worth(4000, big=1 << 22, sticky=True, is_loaded=True)
    assert _numba.worth(5000, big=1 << 22, counted=1 << 25, cumulative=1 << 25)
    assert not _numba.worth(5000, big=1 << 22, counted=1 << 20, cumulative=1 << 25)


@pytest.mark.slow
def test_numpy_path_matches_numba(monkeypatch):
    pytest.importorskip("numba")
    a, b = _data()
    u = a.view(np.uint32)
    o1, t1 = _bitkernel.bit_counts(u, use_numba=True)
    s1 = K.pair_sums(a, "float32", b, "float32", 0.0, 0.0, use_numba=True)
    monkeypatch.setenv(_numba.ENV, "1")
    o2, t2 = _bitkernel.bit_counts(u)           # default policy: numpy under the switch
    s2 = K.pair_sums(a, "float32", b, "float32", 0.0, 0.0)
    np.testing.assert_array_equal(o1, o2)
    np.testing.assert_array_equal(t1, t2)
    np.testing.assert_array_equal(s1.flips, s2.flips)
    assert (s1.n_bits_equal, s1.n_value_equal, s1.or_a, s1.or_b) == (s2.n_bits_equal, s2.n_value_equal,
                                                                     s2.or_a, s2.or_b)
    for f in ("s1a", "s2a", "s4a", "cab", "xx", "dd"):
        assert getattr(s1, f) == pytest.approx(getattr(s2, f), rel=1e-9), f
