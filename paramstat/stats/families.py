"""The fit families: one table (name -> Family) of parameter names, fit, logpdf, cdf and the frozen
scipy object, used by ``stats.fits`` (ranking), plots (``frozen``) and init profiles.

Densities (z = (x - mu) / scale; scipy.stats names in brackets, parameters in paramstat's order):
  normal    (mu, sigma)          log f = -log(2 pi)/2 - log sigma - z^2/2                  [norm(mu, sigma)]
  uniform   (lo, hi)             log f = -log(hi - lo) on [lo, hi]                   [uniform(lo, hi - lo)]
  laplace   (mu, b)              log f = -log(2b) - |z|                                    [laplace(mu, b)]
  logistic  (mu, s)              log f = -|z| - 2 log(1 + e^-|z|) - log s                 [logistic(mu, s)]
  t         (nu, mu, sigma)      log f = lnG((nu+1)/2) - lnG(nu/2) - log(nu pi)/2 - log sigma
                                         - (nu+1)/2 log(1 + z^2/nu)                    [t(nu, mu, sigma)]
  gennorm   (beta, mu, alpha)    log f = log beta - log(2 alpha) - lnG(1/beta) - |z|^beta
                                 (Nadarajah 2005; scipy gennorm_gen)             [gennorm(beta, mu, alpha)]
  truncnorm (mu, sigma, lo, hi)  normal restricted to [lo, hi], divided by Phi(b) - Phi(a),
                                 a, b = (lo - mu)/sigma, (hi - mu)/sigma           [truncnorm(a, b, mu, sigma)]
CDFs: normal Phi(z); uniform (x - lo)/(hi - lo); laplace e^z/2 (z < 0), 1 - e^-z/2; logistic expit(z);
t stdtr(nu, z); gennorm 1/2 + sign(z) P(1/beta, |z|^beta)/2 (P the regularised lower gamma);
truncnorm (Phi((x - mu)/sigma) - Phi(a)) / (Phi(b) - Phi(a)), clipped to [0, 1].
Fits (each ``fit(sorted x, st) -> (params, loglik, cdf(sorted v), converged)``; st holds the sample's
mean, std, median, robust_std): normal, uniform, laplace closed-form MLE; logistic and t L-BFGS-B with
analytic gradients; gennorm mu = median, alpha closed form per beta, bounded search over log beta in
[log 0.2, log 20]; truncnorm lo, hi = min, max, then L-BFGS-B on (mu, log sigma) from sufficient
statistics. Iterative fits optimise on every k-th sorted value (<= FIT_N), are scored on all; the
t and gennorm CDFs are interpolated from INTERP_N sample quantiles (exact in both tails).
Only scipy.special / scipy.optimize at fit time (scipy.stats is slow to import): ``frozen`` imports it.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

import numpy as np

LOG2PI = float(np.log(2 * np.pi))
FIT_N = 25_000   # iterative fits optimise on a quantile-stratified part of the sorted sample
INTERP_N = 4096  # slow CDFs (t, gennorm) are evaluated on this many sample quantiles, interpolated


# ---- log densities ------------------------------------------------------------------------------
def normal_logpdf(x, mu, sigma):
    return -0.5 * LOG2PI - np.log(sigma) - 0.5 * ((x - mu) / sigma) ** 2


def uniform_logpdf(x, lo, hi):
    return np.where((x >= lo) & (x <= hi), -np.log(hi - lo), -np.inf)


def laplace_logpdf(x, mu, b):
    return -np.log(2 * b) - np.abs(x - mu) / b


def logistic_logpdf(x, mu, s):
    a = np.abs((x - mu) / s)
    return -a - 2 * np.log1p(np.exp(-a)) - np.log(s)


def t_logpdf(x, nu, mu, sigma):
    from scipy.special import gammaln

    z = (x - mu) / sigma
    return (gammaln((nu + 1) / 2) - gammaln(nu / 2) - 0.5 * np.log(nu * np.pi) - np.log(sigma)
            - (nu + 1) / 2 * np.log1p(z * z / nu))


def gennorm_logpdf(x, beta, mu, alpha):
    from scipy.special import gammaln

    return np.log(beta) - np.log(2 * alpha) - gammaln(1 / beta) - np.abs((x - mu) / alpha) ** beta


def truncnorm_logpdf(x, mu, sigma, lo, hi):
    from scipy.special import ndtr

    log_z = np.log(ndtr((hi - mu) / sigma) - ndtr((lo - mu) / sigma))
    return np.where((x >= lo) & (x <= hi), normal_logpdf(x, mu, sigma) - log_z, -np.inf)


# ---- CDFs (the fits' KS / W1 use these very functions) -------------------------------------------
def normal_cdf(x, mu, sigma):
    from scipy.special import ndtr

    return ndtr((x - mu) / sigma)


def uniform_cdf(x, lo, hi):
    return np.clip((x - lo) / (hi - lo), 0, 1)


def laplace_cdf(x, mu, b):
    z = (x - mu) / b
    return np.where(z < 0, 0.5 * np.exp(np.minimum(z, 0)), 1 - 0.5 * np.exp(-np.maximum(z, 0)))


def logistic_cdf(x, mu, s):
    from scipy.special import expit

    return expit((x - mu) / s)


def t_cdf(x, nu, mu, sigma):
    from scipy.special import stdtr

    return stdtr(nu, (x - mu) / sigma)


def gennorm_cdf(x, beta, mu, alpha):
    from scipy.special import gammainc

    z = (x - mu) / alpha
    return 0.5 + np.sign(z) * 0.5 * gammainc(1 / beta, np.abs(z) ** beta)


def truncnorm_cdf(x, mu, sigma, lo, hi):
    from scipy.special import ndtr

    pa, pb = ndtr((lo - mu) / sigma), ndtr((hi - mu) / sigma)
    return np.clip((ndtr((np.clip(x, lo, hi) - mu) / sigma) - pa) / (pb - pa), 0, 1)


# ---- fits -----------------------------------------------------------------------------------------
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


def fit_normal(x, st):
    mu, s = st["mean"], st["std"]
    ll = -0.5 * x.size * (LOG2PI + 2 * np.log(s) + 1.0)
    return {"mu": mu, "sigma": s}, ll, partial(normal_cdf, mu=mu, sigma=s), True


def fit_uniform(x, st):
    lo, hi = float(x[0]), float(x[-1])
    ll = -x.size * np.log(hi - lo)
    return {"lo": lo, "hi": hi}, ll, partial(uniform_cdf, lo=lo, hi=hi), True


def fit_laplace(x, st):
    mu = st["median"]
    b = float(np.mean(np.abs(x - mu)))
    ll = -x.size * (np.log(2 * b) + 1.0)
    return {"mu": mu, "b": b}, ll, partial(laplace_cdf, mu=mu, b=b), True


def fit_logistic(x, st):
    from scipy.optimize import minimize

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
    return {"mu": float(mu), "s": s}, ll, partial(logistic_cdf, mu=mu, s=s), bool(res.success)


def fit_t(x, st):
    from scipy.optimize import minimize
    from scipy.special import digamma, gammaln

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
    cdf = _interp_cdf(partial(t_cdf, nu=nu, mu=mu, sigma=s), x)
    return {"nu": nu, "mu": mu, "sigma": s}, ll, cdf, bool(res.success)


def fit_gennorm(x, st):
    from scipy.optimize import minimize_scalar
    from scipy.special import gammaln

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
    cdf = _interp_cdf(partial(gennorm_cdf, beta=b, mu=mu, alpha=alpha), x)
    return {"beta": b, "mu": mu, "alpha": alpha}, ll, cdf, bool(res.success)


def fit_truncnorm(x, st):
    from scipy.optimize import minimize
    from scipy.special import log_ndtr

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
    return ({"mu": mu, "sigma": s, "lo": lo, "hi": hi}, ll, partial(truncnorm_cdf, mu=mu, sigma=s, lo=lo, hi=hi),
            bool(res.success))


# ---- scipy objects ------------------------------------------------------------------------------
def _scipy(family: str, p: dict):
    import scipy.stats as st

    if family == "normal":
        return st.norm(p["mu"], p["sigma"])
    if family == "uniform":
        return st.uniform(p["lo"], p["hi"] - p["lo"])
    if family == "laplace":
        return st.laplace(p["mu"], p["b"])
    if family == "logistic":
        return st.logistic(p["mu"], p["s"])
    if family == "t":
        return st.t(p["nu"], p["mu"], p["sigma"])
    if family == "gennorm":
        return st.gennorm(p["beta"], p["mu"], p["alpha"])
    mu, sd = p["mu"], p["sigma"]
    return st.truncnorm((p["lo"] - mu) / sd, (p["hi"] - mu) / sd, mu, sd)


# ---- the table ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Family:
    name: str
    params: tuple[str, ...]      # paramstat's parameter names, in order
    fit: Callable                # (sorted x, st) -> (params, loglik, cdf, converged)
    logpdf: Callable             # (x, **params)
    cdf: Callable                # (x, **params)

    @property
    def k(self) -> int:
        """Free parameters (BIC's k)."""
        return len(self.params)


FAMILIES: dict[str, Family] = {f.name: f for f in (
    Family("normal", ("mu", "sigma"), fit_normal, normal_logpdf, normal_cdf),
    Family("uniform", ("lo", "hi"), fit_uniform, uniform_logpdf, uniform_cdf),
    Family("laplace", ("mu", "b"), fit_laplace, laplace_logpdf, laplace_cdf),
    Family("logistic", ("mu", "s"), fit_logistic, logistic_logpdf, logistic_cdf),
    Family("t", ("nu", "mu", "sigma"), fit_t, t_logpdf, t_cdf),
    Family("gennorm", ("beta", "mu", "alpha"), fit_gennorm, gennorm_logpdf, gennorm_cdf),
    Family("truncnorm", ("mu", "sigma", "lo", "hi"), fit_truncnorm, truncnorm_logpdf, truncnorm_cdf),
)}
NAMES = tuple(FAMILIES)


def get(family: str) -> Family:
    """The registered family (KeyError names the known ones)."""
    try:
        return FAMILIES[family]
    except KeyError:
        raise KeyError(f"unknown fit family {family!r}; known: {', '.join(NAMES)}") from None


def logpdf(family: str, x, params: dict):
    f = get(family)
    return f.logpdf(np.asarray(x, dtype=np.float64), **{k: float(params[k]) for k in f.params})


def cdf(family: str, x, params: dict):
    f = get(family)
    return f.cdf(np.asarray(x, dtype=np.float64), **{k: float(params[k]) for k in f.params})


def frozen(family: str, params: dict | None):
    """The frozen scipy.stats distribution of a fit result; None when the family is unknown or the
    parameters are missing / degenerate."""
    f = FAMILIES.get(family)
    if f is None or not params:
        return None
    try:
        p = {k: float(params[k]) for k in f.params}
        return _scipy(family, p)
    except (KeyError, ZeroDivisionError):
        return None


def unit_scale(family: str, shape: float) -> float:
    """Scale giving variance 1 at ``shape``: gennorm alpha = sqrt(G(1/beta) / G(3/beta)),
    t sigma = sqrt((nu - 2) / nu) (nu > 2)."""
    import math

    if family == "gennorm":
        from scipy.special import gammaln

        return math.exp(0.5 * (gammaln(1.0 / shape) - gammaln(3.0 / shape)))
    if family == "t":
        return math.sqrt((shape - 2.0) / shape)
    raise ValueError(f"no unit scale for family {family!r}")


def unit(family: str, shape: float):
    """The family at ``shape`` with mean 0 and variance 1 (frozen scipy; t's df floored at 2.05)."""
    if family == "gennorm":
        return frozen("gennorm", {"beta": shape, "mu": 0.0, "alpha": unit_scale("gennorm", shape)})
    if family == "t":
        df = max(shape, 2.05)
        return frozen("t", {"nu": df, "mu": 0.0, "sigma": unit_scale("t", df)})
    raise ValueError(family)
