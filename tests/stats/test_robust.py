"""Robust moments live once (stats.moments); compare's view keeps its published 4-digit constants."""
import numpy as np
import pytest
from scipy import stats

from paramstat.compare.metrics import robust as compare_robust
from paramstat.stats.moments import moments, robust


def test_compare_robust_is_the_old_formula():
    x = np.random.default_rng(1).standard_t(5, 20_001)
    r = compare_robust(x)
    med = float(np.median(x))
    e = np.quantile(x, [1 / 8, 2 / 8, 3 / 8, 5 / 8, 6 / 8, 7 / 8])
    assert r.median == med
    assert r.robust_std == 1.4826 * float(np.median(np.abs(x - med)))
    assert r.robust_kurt == float(((e[5] - e[3]) + (e[2] - e[0])) / (e[4] - e[1]) - 1.2331)


def test_one_definition_for_moments_and_robust():
    x = np.random.default_rng(2).laplace(0, 1, 50_001)  # odd n: np.median == quantile(0.5)
    m, r = moments(x), robust(x)
    assert (m.median, m.robust_std, m.robust_kurt) == (r.median, r.robust_std, r.robust_kurt)
    assert r.robust_std == pytest.approx(stats.median_abs_deviation(x, scale="normal"), rel=1e-12)
    assert r.robust_kurt == pytest.approx(0.352, abs=0.02)  # Laplace's Moors excess (module doc)
    assert np.isnan(robust(np.array([])).median)
