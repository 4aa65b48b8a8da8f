"""Contract of every registered fit family: logpdf and cdf against scipy.stats on a grid, the frozen
scipy object at the same parameters, and parameters recovered from 200k draws."""
import numpy as np
import pytest
from scipy import stats

from paramstat.stats import families as F
from paramstat.stats.fits import fit_families

PARAMS = {
    "normal": {"mu": 0.1, "sigma": 2.0},
    "uniform": {"lo": -1.0, "hi": 1.5},
    "laplace": {"mu": 0.2, "b": 0.5},
    "logistic": {"mu": -0.1, "s": 0.3},
    "t": {"nu": 4.0, "mu": 0.05, "sigma": 0.5},
    "gennorm": {"beta": 1.5, "mu": 0.0, "alpha": 0.7},
    "truncnorm": {"mu": 0.3, "sigma": 1.5, "lo": -1.2, "hi": 3.3},
}
SCIPY = {  # written out independently of families._scipy
    "normal": lambda p: stats.norm(p["mu"], p["sigma"]),
    "uniform": lambda p: stats.uniform(p["lo"], p["hi"] - p["lo"]),
    "laplace": lambda p: stats.laplace(p["mu"], p["b"]),
    "logistic": lambda p: stats.logistic(p["mu"], p["s"]),
    "t": lambda p: stats.t(p["nu"], p["mu"], p["sigma"]),
    "gennorm": lambda p: stats.gennorm(p["beta"], p["mu"], p["alpha"]),
    "truncnorm": lambda p: stats.truncnorm((p["lo"] - p["mu"]) / p["sigma"], (p["hi"] - p["mu"]) / p["sigma"],
                                           p["mu"], p["sigma"]),
}


def test_registry_is_complete():
    assert set(F.NAMES) == set(PARAMS) and F.NAMES == tuple(F.FAMILIES)
    for name, fam in F.FAMILIES.items():
        assert fam.name == name and set(fam.params) == set(PARAMS[name]) and fam.k == len(fam.params)
    with pytest.raises(KeyError, match="known"):
        F.get("cauchy")


@pytest.mark.parametrize("family", F.NAMES)
def test_logpdf_cdf_frozen_against_scipy(family):
    p = PARAMS[family]
    ref = SCIPY[family](p)
    lo, hi = ref.ppf(0.001), ref.ppf(0.999)
    x = np.linspace(lo, hi, 501)
    assert np.allclose(F.logpdf(family, x, p), ref.logpdf(x), rtol=1e-9, atol=1e-9)
    assert np.allclose(F.cdf(family, x, p), ref.cdf(x), rtol=1e-8, atol=1e-10)
    fz = F.frozen(family, p)
    assert np.allclose(fz.cdf(x), ref.cdf(x)) and fz.mean() == pytest.approx(ref.mean())


@pytest.mark.parametrize("family", F.NAMES)
def test_parameters_recovered(family):
    p = PARAMS[family]
    ref = SCIPY[family](p)
    x = ref.rvs(size=200_000, random_state=np.random.default_rng(3))
    rep = fit_families(x, subsample=200_000, families=(family,))
    got = rep.get(family).params
    for k, v in p.items():
        tol = 0.03 * v if k in ("nu", "beta") else 0.01 * ref.std()
        assert got[k] == pytest.approx(v, abs=tol), (k, got)


def test_frozen_missing_or_unknown():
    assert F.frozen("normal", {"mu": 0.0}) is None
    assert F.frozen("nope", {"mu": 0.0}) is None
    assert F.frozen("normal", None) is None


@pytest.mark.parametrize("family,shape", [("gennorm", 1.3), ("gennorm", 3.0), ("t", 5.0)])
def test_unit_has_variance_one(family, shape):
    d = F.unit(family, shape)
    assert d.mean() == pytest.approx(0.0, abs=1e-12) and d.var() == pytest.approx(1.0, rel=1e-9)
