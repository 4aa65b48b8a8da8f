"""The data behind ``scan --plots`` (pure, no drawing): value histograms with the fitted pdfs, spectra
against Marchenko–Pastur, per-bit runs Z and scores per tensor. paramstat.report.plots draws it."""
from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from ..record import TensorRecord
from .results import ScanResult


@dataclass
class HistData:
    name: str
    verdict: str
    score: float | None
    values: np.ndarray                 # a subsample of the tensor's values (float64)
    n: int                             # full size
    curves: list[tuple[str, np.ndarray, np.ndarray]]  # (label, x, pdf)


@dataclass
class SpectrumData:
    name: str
    verdict: str
    shape: tuple[int, int]             # the matrix (out, in/groups*k*k)
    evals: np.ndarray                  # eigenvalues of W^T W / N (N = larger side)
    sigma2: float                      # variance of the entries (the i.i.d. null)
    q: float                           # M / N <= 1
    mp_x: np.ndarray
    mp_pdf: np.ndarray
    edge: float                        # sigma2 (1 + sqrt q)^2
    n_spikes: int


@dataclass
class PlotData:
    hists: list[HistData]
    spectra: list[SpectrumData]
    bit_names: list[str]
    bit_z: np.ndarray                  # (tensors, bit positions), NaN = constant / absent
    score_names: list[str]
    scores: np.ndarray                 # NaN where skipped
    verdicts: list[str]
    title: str


def _frozen(family: str, params: dict):
    """A frozen scipy distribution from a paramstat.stats.fits result (its parameter names)."""
    import scipy.stats as st

    p = {k: float(v) for k, v in (params or {}).items()}
    try:
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
        if family == "truncnorm":
            mu, sd = p["mu"], p["sigma"]
            return st.truncnorm((p["lo"] - mu) / sd, (p["hi"] - mu) / sd, mu, sd)
    except (KeyError, ZeroDivisionError):
        return None
    return None


def _engine_fits(tv, x: np.ndarray) -> list[dict]:
    """Fits ranked by BIC: the verdict stats' when they carry parameters, else paramstat.stats.fits on a
    seeded 20k subsample of ``x``."""
    fit = (tv.stats or {}).get("fit") or {}
    fits = fit.get("fits") if isinstance(fit, dict) else None
    if fits and all("params" in f for f in fits):
        return sorted(fits, key=lambda f: f.get("bic") if f.get("bic") is not None else float("inf"))
    from ..stats.fits import fit_families

    rep = fit_families(x, seed=0, subsample=20_000)
    return [f.to_dict() for f in rep.fits]


def _closed_form_fits(x: np.ndarray) -> list[tuple[str, object, float]]:
    """Fallback when the verdict stats carry no fits: normal, Laplace, uniform by closed-form MLE, with BIC."""
    import scipy.stats as st

    n = x.size
    mu, sd = float(x.mean()), float(x.std()) or 1e-12
    med = float(np.median(x))
    b = float(np.mean(np.abs(x - med))) or 1e-12
    lo, hi = float(x.min()), float(x.max())
    out = []
    for label, d in (("normal", st.norm(mu, sd)), ("laplace", st.laplace(med, b)),
                     ("uniform", st.uniform(lo, max(hi - lo, 1e-12)))):
        ll = float(np.sum(d.logpdf(x)))
        out.append((label, d, -2 * ll + 2 * math.log(n)))
    return sorted(out, key=lambda t: t[2])


def _hist_curves(tv, x: np.ndarray, n_curves: int = 3) -> list[tuple[str, np.ndarray, np.ndarray]]:
    lo, hi = np.quantile(x, [0.0005, 0.9995]) if x.size > 2000 else (x.min(), x.max())
    pad = 0.05 * (hi - lo or 1.0)
    grid = np.linspace(lo - pad, hi + pad, 400)
    curves = []
    for f in _engine_fits(tv, x):
        d = _frozen(f.get("family", ""), f.get("params"))
        if d is None:
            continue
        ks = f.get("ks_d")
        label = f"{f.get('family')}" + (f" (KS D={ks:.4f})" if isinstance(ks, (int, float)) else "")
        curves.append((label, grid, d.pdf(grid)))
        if len(curves) == n_curves:
            break
    if not curves:
        for label, d, _ in _closed_form_fits(x)[:n_curves]:
            curves.append((f"{label} (closed-form MLE)", grid, d.pdf(grid)))
    return curves


def _matrix(rec: TensorRecord, values: np.ndarray) -> np.ndarray | None:
    if values.ndim < 2:
        return None
    return values.reshape(values.shape[0], -1)


def mp_pdf(x: np.ndarray, sigma2: float, q: float) -> np.ndarray:
    """Marchenko–Pastur density of the eigenvalues of X^T X / N, X (N x M) i.i.d. var sigma2, q = M/N <= 1:
    p(x) = sqrt((l+ - x)(x - l-)) / (2 pi sigma2 q x), l± = sigma2 (1 ± sqrt q)^2."""
    lp, lm = sigma2 * (1 + math.sqrt(q)) ** 2, sigma2 * (1 - math.sqrt(q)) ** 2
    inside = (x > lm) & (x < lp)
    out = np.zeros_like(x, dtype=float)
    xi = x[inside]
    out[inside] = np.sqrt((lp - xi) * (xi - lm)) / (2 * math.pi * sigma2 * q * xi)
    return out


def spectrum_data(name: str, verdict: str, w: np.ndarray) -> SpectrumData:
    w = np.asarray(w, dtype=np.float64)
    if w.shape[0] < w.shape[1]:
        w = w.T
    N, M = w.shape
    sv = np.linalg.svd(w, compute_uv=False)
    evals = sv ** 2 / N
    sigma2 = float(np.mean((w - w.mean()) ** 2)) or 1e-30
    q = M / N
    edge = sigma2 * (1 + math.sqrt(q)) ** 2
    x = np.linspace(sigma2 * (1 - math.sqrt(q)) ** 2, edge, 400)
    return SpectrumData(name, verdict, (N, M), evals, sigma2, q, x, mp_pdf(x, sigma2, q), edge,
                        int(np.sum(evals > edge * 1.05)))


def choose_plot_tensors(result: ScanResult, n_largest: int = 3) -> list[str]:
    """The largest few analysed tensors plus every tensor that decides a 'mixed' verdict."""
    analysed = [t for t in result.tensors if t.verdict != "skipped"]
    largest = [t.name for t in sorted(analysed, key=lambda t: -t.numel)[:n_largest]]
    return list(dict.fromkeys([*result.untrained[:6], *largest]))


def plot_data(result: ScanResult, names: list[str] | None = None, max_points: int = 200_000,
              seed: int = 0) -> PlotData:
    """Everything the PNG plots need; re-reads only the chosen tensors."""
    by_name = {t.name: t for t in result.tensors}
    names = names or choose_plot_tensors(result)
    rng = np.random.default_rng(seed)
    hists, spectra = [], []
    ckpt = result.checkpoint
    for name in names:
        tv = by_name.get(name)
        if tv is None or ckpt is None or tv.verdict == "skipped":
            continue
        rec = ckpt[name]
        v = np.asarray(rec.values(), dtype=np.float64)
        flat = v.ravel()
        flat = flat[np.isfinite(flat)]
        if flat.size == 0:
            continue
        sub = flat if flat.size <= max_points else rng.choice(flat, max_points, replace=False)
        hists.append(HistData(name, tv.verdict, tv.score, sub, int(flat.size), _hist_curves(tv, sub)))
        m = _matrix(rec, v)
        if m is not None and min(m.shape) >= 8 and max(m.shape) <= 8192 and np.isfinite(m).all():
            spectra.append(spectrum_data(name, tv.verdict, m))
    analysed = [t for t in result.tensors if t.verdict != "skipped"]
    # heatmap rows: tensors with at least one non-constant bit (constant tensors have no runs Z)
    with_z = [(t.name, result.bit_z[t.name]) for t in analysed
              if t.name in result.bit_z and np.isfinite(result.bit_z[t.name]).any()]
    width = max((len(r) for _, r in with_z), default=0)
    bz = np.full((len(with_z), width), np.nan)
    for i, (_, r) in enumerate(with_z):
        bz[i, :len(r)] = r
    scores = np.array([np.nan if t.score is None else t.score for t in analysed], dtype=float)
    return PlotData(hists, spectra, [n for n, _ in with_z], bz, [t.name for t in analysed], scores,
                    [t.verdict for t in analysed], f"{_short_source(result.source)}: {result.verdict} ({result.score:.2f})")


def _short_source(source: str) -> str:
    return os.path.basename(source.rstrip("/")) or source
