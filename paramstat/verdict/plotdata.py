"""The data behind ``scan --plots`` (pure, no drawing): value histograms with the fitted pdfs, spectra
against Marchenko–Pastur, per-bit runs Z and scores per tensor. paramstat.report.plots draws it."""
from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from ..stats.families import frozen
from ..stats.sampling import subsample
from ..stats.shapes import squeezed_matrix
from ..stats.spectral import mp_curve
from .features import role_group, spectrum
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
    shape: tuple[int, int]             # (N, M) of the scored sub-matrix
    evals: np.ndarray                  # eigenvalues of W^T W / N (N = larger side) of the scored sub-matrix
    sigma2: float                      # sum(W^2) / (N M): the scoring's MP variance
    q: float                           # M / N <= 1
    mp_x: np.ndarray
    mp_pdf: np.ndarray
    edge: float                        # sigma2 (1 + sqrt q)^2
    n_spikes: int                      # above the Tracy–Widom threshold, as scored


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


def _engine_fits(x: np.ndarray) -> list[dict]:
    """paramstat.stats.fits on a seeded 20k subsample of ``x``, ranked by BIC."""
    from ..stats.fits import fit_families

    return [f.to_dict() for f in fit_families(x, seed=0, subsample=20_000).fits]


def _closed_form_fits(x: np.ndarray) -> list[tuple[str, object, float]]:
    """When stats.fits fits no family (a constant tensor, which a 'mixed' verdict can list): normal, Laplace,
    uniform by closed-form MLE, with BIC."""
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


def _hist_curves(x: np.ndarray, n_curves: int = 3) -> list[tuple[str, np.ndarray, np.ndarray]]:
    lo, hi = np.quantile(x, [0.0005, 0.9995]) if x.size > 2000 else (x.min(), x.max())
    pad = 0.05 * (hi - lo or 1.0)
    grid = np.linspace(lo - pad, hi + pad, 400)
    curves = []
    for f in _engine_fits(x):
        d = frozen(f.get("family", ""), f.get("params"))
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


def spectrum_data(name: str, verdict: str, w2d: np.ndarray) -> SpectrumData | None:
    """The spectrum the verdict scored (features.spectrum: same crop, sigma^2, q, edge and spike count) with
    its Marchenko–Pastur curve (paramstat.stats.spectral.mp_curve); None when a side is < 8."""
    sp = spectrum(np.asarray(w2d, dtype=np.float32))
    if sp is None:
        return None
    c = mp_curve(sp)
    return SpectrumData(name, verdict, tuple(c.sampled_shape), c.eigs, c.sigma2, c.q, c.x, c.pdf, c.edge,
                        int(c.n_spikes))


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
        sub = subsample(flat, max_points, seed=seed, key=name, replace=False)
        hists.append(HistData(name, tv.verdict, tv.score, sub, int(flat.size), _hist_curves(sub)))
        if role_group(rec) == "matrix" and np.isfinite(v).all():
            sd = spectrum_data(name, tv.verdict, squeezed_matrix(v))
            if sd is not None:
                spectra.append(sd)
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
