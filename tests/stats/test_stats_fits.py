"""Distribution fits: parameter recovery, BIC ranking, log-likelihoods and effect sizes vs scipy.stats."""
import numpy as np
import pytest
from scipy import stats

from paramstat.stats.fits import FAMILIES, fit_families

N = 60_000
TRUE = {
    "normal": (stats.norm(0.1, 2.0), {"mu": 0.1, "sigma": 2.0}),
    "uniform": (stats.uniform(-1, 2), {"lo": -1.0, "hi": 1.0}),
    "laplace": (stats.laplace(0.2, 0.5), {"mu": 0.2, "b": 0.5}),
    "logistic": (stats.logistic(0.0, 0.3), {"mu": 0.0, "s": 0.3}),
    "t": (stats.t(4, 0.0, 0.5), {"nu": 4.0, "mu": 0.0, "sigma": 0.5}),
    "gennorm": (stats.gennorm(1.5, 0.0, 0.7), {"beta": 1.5, "mu": 0.0, "alpha": 0.7}),
    "truncnorm": (stats.truncnorm(-1, 2, loc=0.3, scale=1.5), {"mu": 0.3, "sigma": 1.5, "lo": -1.2, "hi": 3.3}),
}
TOL = {"nu": 0.08, "beta": 0.04, "lo": 0.01, "hi": 0.01}  # relative; others absolute 0.03 * scale


def scipy_logpdf(family, p, x):
    if family == "normal":
        return stats.norm.logpdf(x, p["mu"], p["sigma"])
    if family == "uniform":
        return stats.uniform.logpdf(x, p["lo"], p["hi"] - p["lo"])
    if family == "laplace":
        return stats.laplace.logpdf(x, p["mu"], p["b"])
    if family == "logistic":
        return stats.logistic.logpdf(x, p["mu"], p["s"])
    if family == "t":
        return stats.t.logpdf(x, p["nu"], p["mu"], p["sigma"])
    if family == "gennorm":
        return stats.gennorm.logpdf(x, p["beta"], p["mu"], p["alpha"])
    s = p["sigma"]
    return stats.truncnorm.logpdf(x, (p["lo"] - p["mu"]) / s, (p["hi"] - p["mu"]) / s, p["mu"], s)


@pytest.mark.parametrize("family", FAMILIES)
def test_recovers_parameters_and_ranks_first(family):
    dist, true = TRUE[family]
    x = dist.rvs(size=N, random_state=np.random.default_rng(7))
    r = fit_families(x)
    assert r.best == family, [(f.family, round(f.bic - r.fits[0].bic, 1)) for f in r.fits]
    f = r.get(family)
    scale = dist.std()
    for k, v in true.items():
        if k in TOL:
            assert f.params[k] == pytest.approx(v, rel=TOL[k]), k
        else:
            assert f.params[k] == pytest.approx(v, abs=0.03 * scale), k
    # our closed-form / optimised log-likelihood equals scipy's logpdf summed at our parameters
    assert f.loglik == pytest.approx(float(np.sum(scipy_logpdf(family, f.params, x))), rel=1e-7, abs=1e-6)
    assert f.bic == pytest.approx(f.k * np.log(N) - 2 * f.loglik)
    assert f.aic == pytest.approx(2 * f.k - 2 * f.loglik)
    assert f.ks_d < 0.01 and f.w1_sigma < 0.02
    assert [g.bic for g in r.fits] == sorted(g.bic for g in r.fits)


def test_mle_is_at_least_as_good_as_scipy_fit():
    x = stats.t(3, 0.01, 0.02).rvs(size=3000, random_state=np.random.default_rng(1))
    ours = fit_families(x).get("t")
    nu, loc, sc = stats.t.fit(x)
    assert ours.loglik >= stats.t.logpdf(x, nu, loc, sc).sum() - 1e-3
    y = stats.logistic(0.5, 2).rvs(size=3000, random_state=np.random.default_rng(2))
    ours = fit_families(y).get("logistic")
    loc, sc = stats.logistic.fit(y)
    assert ours.loglik >= stats.logistic.logpdf(y, loc, sc).sum() - 1e-3


def test_effect_sizes_match_scipy():
    x = stats.norm(0, 1).rvs(size=20_000, random_state=np.random.default_rng(3))
    f = fit_families(x, families=("normal", "laplace")).get("laplace")
    p = f.params
    assert f.ks_d == pytest.approx(stats.kstest(x, "laplace", args=(p["mu"], p["b"])).statistic, abs=1e-9)
    q = stats.laplace.ppf((np.arange(400_000) + 0.5) / 400_000, p["mu"], p["b"])
    w1 = stats.wasserstein_distance(x, q) / x.std()
    assert f.w1_sigma == pytest.approx(w1, rel=0.05)  # tails beyond the sample range are left out
    assert f.w1_sigma > 0.02  # normal data are not Laplace


def test_subsample_recorded_and_deterministic():
    x = np.random.default_rng(4).laplace(0, 0.01, 250_000).astype(np.float32)
    r = fit_families(x, seed=3, subsample=50_000)
    assert (r.n, r.subsample_n, r.seed) == (250_000, 50_000, 3) and r.best == "laplace"
    assert fit_families(x, seed=3, subsample=50_000).to_dict() == r.to_dict()
    assert fit_families(x, seed=4, subsample=50_000).get("laplace").loglik != r.get("laplace").loglik
    d = r.to_dict()
    assert d["fits"][0]["family"] == "laplace" and set(d["fits"][0]) >= {"loglik", "aic", "bic", "ks_d", "w1_sigma"}


def test_degenerate_inputs():
    r = fit_families(np.zeros(100))
    assert r.best is None and r.fits == []
    r = fit_families(np.array([1.0, np.nan, 2.0, 3.0, np.inf, 2.5]))
    assert r.n == 4 and r.best is not None
