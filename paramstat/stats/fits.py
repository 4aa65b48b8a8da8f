"""Distribution fits per tensor, ranked by BIC (BRIEF §2: at millions of values every p-value is 0,
so rank by information criteria and report effect sizes, never p-values).

Data: a seeded subsample of ``subsample`` values (numpy default_rng(seed).choice without replacement;
all values when n <= subsample). Every family is scored on that same sample (m values), so loglik,
AIC = 2k - 2 loglik and BIC = k ln(m) - 2 loglik are comparable. Closed forms use all m values; the
iterative optimisers (logistic, t, gennorm's beta) run on every k-th sorted value (<= 25,000,
quantile-stratified), then are scored on all m. t and gennorm CDFs for KS/W1 are interpolated from
4096 sample quantiles, exact in the 2048 lowest and highest values (error < 1e-5).
Families (k = free parameters):
  normal    (mu, sigma)        closed-form MLE: mean, std (ddof 0)
  uniform   (lo, hi)           closed-form MLE: min, max
  laplace   (mu, b)            closed-form MLE: median, mean |x - median|
  logistic  (mu, s)            L-BFGS-B on (mu, log s) with analytic gradient, start median, std sqrt3/pi
  t         (nu, mu, sigma)    L-BFGS-B on (log nu, mu, log sigma), analytic gradient, start nu=5
  gennorm   (beta, mu, alpha)  mu = median (fixed), alpha^beta = beta mean|x-mu|^beta (closed form per
                               beta), 1-D bounded search over log beta in [log 0.2, log 20]  (k = 3)
  truncnorm (mu, sigma, lo, hi) lo, hi = min, max (their MLE), then L-BFGS-B on (mu, log sigma) using
                               sufficient statistics (k = 4)
Effect sizes on the sorted sample: KS D = sup |F_n - F|, and W1/sigma = integral |F_n - F| dx over
[x_(1), x_(m)] (trapezoid on the sample points; tails beyond the sample range left out) divided by
the sample std. Needs only scipy.special / scipy.optimize (not scipy.stats: slow to import).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

FAMILIES = ("normal", "uniform", "laplace", "logistic", "t", "gennorm", "truncnorm")
LOG2PI = float(np.log(2 * np.pi))


@dataclass
class FitResult:
    family: str
    params: dict
    loglik: float
    aic: float
    bic: float
    ks_d: float
    w1_sigma: float
    k: int = 0
    converged: bool = True

    def to_dict(self) -> dict:
        return {"family": self.family, "params": {k: float(v) for k, v in self.params.items()},
                "loglik": float(self.loglik), "aic": float(self.aic), "bic": float(self.bic),
                "ks_d": float(self.ks_d), "w1_sigma": float(self.w1_sigma), "k": self.k,
                "converged": bool(self.converged)}


@dataclass
class FitReport:
    best: str | None
    fits: list[FitResult]    # sorted by BIC, best first
    n: int                   # values in the tensor (finite)
    subsample_n: int         # values fitted and scored
    seed: int
    scored_on: str = "subsample"
    errors: dict = field(default_factory=dict)  # family -> message, for fits that failed

    def get(self, family: str) -> FitResult | None:
        for f in self.fits:
            if f.family == family:
                return f
        return None

    def to_dict(self) -> dict:
        return {"best": self.best, "n": self.n, "subsample_n": self.subsample_n, "seed": self.seed,
                "scored_on": self.scored_on, "errors": dict(self.errors),
                "fits": [f.to_dict() for f in self.fits]}


FIT_N = 25_000   # iterative fits optimise on a quantile-stratified part of the sorted sample
INTERP_N = 4096  # slow CDFs (t, gennorm) are evaluated on this many sample quantiles, interpolated


def _fit_part(xs: np.ndarray) -> np.ndarray:
    """Every k-th value of the sorted sample (k = ceil(m / FIT_N)): a stratified sub-sample."""
    k = -(-xs.size // FIT_N)
    return xs[::k] if k > 1 else xs


def _interp_cdf(cdf, xs: np.ndarray):
    """For the sorted sample: cdf exact on the INTERP_N/2 lowest and highest values (sparse tails),
    linearly interpolated from INTERP_N sample quantiles in between."""
    if xs.size <= 4 * INTERP_N:
        return cdf
    t = INTERP_N // 2
    grid = np.unique(np.concatenate([xs[:: xs.size // INTERP_N], xs[-1:]]))
    fg = np.asarray(cdf(grid), dtype=np.float64)

    def sorted_cdf(v):
        f = np.interp(v, grid, fg)
        f[:t] = cdf(v[:t])
        f[-t:] = cdf(v[-t:])
        return f
    return sorted_cdf


# ---- per-family fits: each returns (params, loglik, cdf(sorted x), converged) -------------------

def _fit_normal(x, st):
    mu, s = st["mean"], st["std"]
    ll = -0.5 * x.size * (LOG2PI + 2 * np.log(s) + 1.0)
    from scipy.special import ndtr
    return {"mu": mu, "sigma": s}, ll, lambda v: ndtr((v - mu) / s), True


def _fit_uniform(x, st):
    lo, hi = float(x[0]), float(x[-1])
    ll = -x.size * np.log(hi - lo)
    return {"lo": lo, "hi": hi}, ll, lambda v: np.clip((v - lo) / (hi - lo), 0, 1), True


def _fit_laplace(x, st):
    mu = st["median"]
    b = float(np.mean(np.abs(x - mu)))
    ll = -x.size * (np.log(2 * b) + 1.0)

    def cdf(v):
        z = (v - mu) / b
        return np.where(z < 0, 0.5 * np.exp(np.minimum(z, 0)), 1 - 0.5 * np.exp(-np.maximum(z, 0)))
    return {"mu": mu, "b": b}, ll, cdf, True


def _fit_logistic(x, st):
    from scipy.optimize import minimize
    from scipy.special import expit

    sc = st["std"]

    def nll(p, x=_fit_part(x)):
        n = x.size
        mu, ls = p[0] * sc + st["median"], p[1]
        s = np.exp(ls) * sc
        z = (x - mu) / s
        a = np.abs(z)
        # log pdf = -|z| - 2 log(1 + e^-|z|) - log s
        ll = -a.sum() - 2 * np.log1p(np.exp(-a)).sum() - n * np.log(s)
        t = np.tanh(z / 2)  # d/dz log pdf = -tanh(z/2)
        g_mu = t.sum() / s
        g_ls = (z * t).sum() - n
        return -ll / n, -np.array([g_mu * sc, g_ls]) / n

    res = minimize(nll, [0.0, np.log(np.sqrt(3) / np.pi)], jac=True, method="L-BFGS-B")
    mu, s = res.x[0] * sc + st["median"], float(np.exp(res.x[1]) * sc)
    ll = -nll(res.x, x)[0] * x.size
    return {"mu": float(mu), "s": s}, ll, lambda v: expit((v - mu) / s), bool(res.success)


def _fit_t(x, st):
    from scipy.optimize import minimize
    from scipy.special import digamma, gammaln, stdtr

    sc = st["std"]

    def nll(p, xs=(_fit_part(x) - st["median"]) / sc):  # standardised units
        n = xs.size
        lnu, mu, ls = p
        nu, s = np.exp(lnu), np.exp(ls)
        z = (xs - mu) / s
        q = z * z / nu
        l1 = np.log1p(q)
        ll = n * (gammaln((nu + 1) / 2) - gammaln(nu / 2) - 0.5 * np.log(nu * np.pi) - ls) - (nu + 1) / 2 * l1.sum()
        w = (nu + 1) / (nu + z * z)           # EM weights
        g_mu = (w * z).sum() / s
        g_ls = (w * z * z).sum() - n
        g_nu = n * (0.5 * digamma((nu + 1) / 2) - 0.5 * digamma(nu / 2) - 0.5 / nu) \
            - 0.5 * l1.sum() + (nu + 1) / 2 * (q / (1 + q)).sum() / nu
        return -ll / n, -np.array([g_nu * nu, g_mu, g_ls]) / n

    s0 = max(st["robust_std"] / sc, 1e-3)
    res = minimize(nll, [np.log(5.0), 0.0, np.log(s0)], jac=True, method="L-BFGS-B",
                   bounds=[(np.log(0.3), np.log(1e4)), (None, None), (None, None)])
    nu = float(np.exp(res.x[0]))
    mu = float(res.x[1] * sc + st["median"])
    s = float(np.exp(res.x[2]) * sc)
    n = x.size
    ll = -nll(res.x, (x - st["median"]) / sc)[0] * n - n * np.log(sc)  # Jacobian of the standardisation
    return {"nu": nu, "mu": mu, "sigma": s}, ll, _interp_cdf(lambda v: stdtr(nu, (v - mu) / s), x), \
        bool(res.success)


def _fit_gennorm(x, st):
    from scipy.optimize import minimize_scalar
    from scipy.special import gammainc, gammaln

    mu = st["median"]
    sc = st["std"]
    la_all = np.log(np.abs(x - mu) / sc + 1e-300)  # |x - mu|^beta = exp(beta * la); 0 stays 0

    def nll(lb, la=_fit_part(la_all)):
        n = la.size
        b = np.exp(lb)
        m = np.mean(np.exp(b * la))
        alpha = (b * m) ** (1 / b)
        ll = n * (np.log(b) - np.log(2 * alpha) - gammaln(1 / b)) - n / b
        return -ll / n

    res = minimize_scalar(nll, bounds=(np.log(0.2), np.log(20.0)), method="bounded",
                          options={"xatol": 1e-5})
    b = float(np.exp(res.x))
    alpha = float((b * np.mean(np.exp(b * la_all))) ** (1 / b)) * sc  # closed form on all values
    n = x.size
    ll = -nll(res.x, la_all) * n - n * np.log(sc)

    def cdf(v):
        z = (v - mu) / alpha
        return 0.5 + np.sign(z) * 0.5 * gammainc(1 / b, np.abs(z) ** b)
    return {"beta": b, "mu": mu, "alpha": alpha}, ll, _interp_cdf(cdf, x), bool(res.success)


def _fit_truncnorm(x, st):
    from scipy.optimize import minimize
    from scipy.special import log_ndtr, ndtr

    n = x.size
    lo, hi = float(x[0]), float(x[-1])
    sc = st["std"]
    c = st["mean"]
    # sufficient statistics in standardised units u = (x - c)/sc
    u = (x - c) / sc
    s1, s2 = float(u.sum()), float((u * u).sum())
    ulo, uhi = (lo - c) / sc, (hi - c) / sc

    def log_z(mu, s):
        a, b = (ulo - mu) / s, (uhi - mu) / s
        # log(Phi(b) - Phi(a)) stably
        if a > 0:
            return log_ndtr(-a) + np.log1p(-np.exp(log_ndtr(-b) - log_ndtr(-a)))
        return log_ndtr(b) + np.log1p(-np.exp(log_ndtr(a) - log_ndtr(b)))

    def nll(p):
        mu, ls = p
        s = np.exp(ls)
        ssq = s2 - 2 * mu * s1 + n * mu * mu
        ll = -0.5 * n * LOG2PI - n * ls - ssq / (2 * s * s) - n * log_z(mu, s)
        return -ll / n

    res = minimize(nll, [0.0, 0.0], method="L-BFGS-B",
                   bounds=[(ulo - 10, uhi + 10), (np.log(1e-3), np.log(1e3))])
    mu = float(res.x[0] * sc + c)
    s = float(np.exp(res.x[1]) * sc)
    ll = -res.fun * n - n * np.log(sc)
    pa, pb = ndtr((lo - mu) / s), ndtr((hi - mu) / s)

    def cdf(v):
        return np.clip((ndtr((np.clip(v, lo, hi) - mu) / s) - pa) / (pb - pa), 0, 1)
    return {"mu": mu, "sigma": s, "lo": lo, "hi": hi}, ll, cdf, bool(res.success)


_FITTERS = {"normal": (_fit_normal, 2), "uniform": (_fit_uniform, 2), "laplace": (_fit_laplace, 2),
            "logistic": (_fit_logistic, 2), "t": (_fit_t, 3), "gennorm": (_fit_gennorm, 3),
            "truncnorm": (_fit_truncnorm, 4)}


def effect_sizes(xs: np.ndarray, f: np.ndarray, std: float) -> tuple[float, float]:
    """(KS D, W1/std) of sorted sample xs against model CDF values f = F(xs)."""
    m = xs.size
    i = np.arange(1, m + 1, dtype=np.float64)
    d = float(max(np.max(i / m - f), np.max(f - (i - 1) / m)))
    # integral over [x_1, x_m] of |F_n - F|: on [x_i, x_{i+1}) F_n = i/m; F by the trapezoid rule
    dx = np.diff(xs)
    fm = 0.5 * (f[1:] + f[:-1])
    w1 = float(np.sum(np.abs(i[:-1] / m - fm) * dx))
    return d, (w1 / std if std > 0 else float("nan"))


def fit_families(x, seed: int = 0, subsample: int = 100_000,
                 families: tuple[str, ...] = FAMILIES) -> FitReport:
    """Fit every family on the same seeded subsample; rank by BIC (module doc)."""
    x = np.asarray(x).reshape(-1)
    x = x[np.isfinite(x)] if not np.all(np.isfinite(x)) else x
    n = int(x.size)
    if n > subsample:
        x = x[np.random.default_rng(seed).choice(n, subsample, replace=False)]
    xs = np.sort(x.astype(np.float64))
    m = int(xs.size)
    if m < 3 or xs[0] == xs[-1]:
        return FitReport(None, [], n, m, seed, errors={"all": "fewer than 3 values or constant"})
    med = float(np.median(xs))
    st = {"mean": float(xs.mean()), "std": float(xs.std()), "median": med,
          "robust_std": float(1.482602 * np.median(np.abs(xs - med)))}
    if st["robust_std"] <= 0:
        st["robust_std"] = st["std"]
    fits: list[FitResult] = []
    errors: dict = {}
    for fam in families:
        fn, k = _FITTERS[fam]
        try:
            with np.errstate(all="ignore"):
                params, ll, cdf, ok = fn(xs, st)
                d, w1 = effect_sizes(xs, np.asarray(cdf(xs), dtype=np.float64), st["std"])
            ll = float(ll)
            if not np.isfinite(ll):
                raise FloatingPointError("non-finite log-likelihood")
        except Exception as exc:  # a family that cannot be fitted is reported, not fatal
            errors[fam] = f"{type(exc).__name__}: {exc}"
            continue
        fits.append(FitResult(fam, {k_: float(v) for k_, v in params.items()}, ll, 2 * k - 2 * ll,
                              k * np.log(m) - 2 * ll, d, w1, k, ok))
    fits.sort(key=lambda f: f.bic)
    return FitReport(fits[0].family if fits else None, fits, n, m, seed, errors=errors)
