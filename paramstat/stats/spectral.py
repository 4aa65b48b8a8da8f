"""Spectrum of a weight matrix against Marchenko–Pastur (MP), in closed form (BRIEF §2).

Matrix convention: a conv weight (out, in/groups, *k) is reshaped to (out, in/groups * prod(k))
(PyTorch's storage order); a linear weight (out, in) is used as is. With N = larger and M = smaller
dimension, the eigenvalues are lambda_i = s_i^2 / N (s_i the singular values, M of them), i.e. the
spectrum of W^T W / N (or W W^T / N, whichever is M x M).
MP for i.i.d. entries of variance sigma^2 (no fit: both parameters in closed form):
    sigma^2 = mean(lambda) = sum(W^2) / (N M),   q = M / N,   edge lambda_+ = sigma^2 (1 + sqrt q)^2.
Spikes: eigenvalues above a finite-size Tracy–Widom threshold (Johnstone 2001, real Wishart):
    mu_NM = (sqrt(N-1) + sqrt(M))^2,  s_NM = (sqrt(N-1) + sqrt(M)) (1/sqrt(N-1) + 1/sqrt(M))^(1/3),
    threshold = sigma^2 (mu_NM + TW_T * s_NM) / N  with TW_T = 4 (P(TW1 > 4) ~ 1e-4),
so the margin above lambda_+ scales as N^(-2/3). ``top_over_edge`` = lambda_max / lambda_+,
``mp_softrank`` = lambda_+ / lambda_max (WeightWatcher's).
Shuffle distance: the same entries randomly permuted (seeded) destroy any structure but keep the
marginal; distance = W1 between the sorted singular values and the mean sorted singular values of
k shuffles (k = 300,000 // entries, clipped to 1..8: small spectra are noisier, big ones costly;
a permutation of 1M values takes ~50 ms), over rms(s):
    mean_i |s_(i) - mean_k s'_k(i)| / sqrt(mean_i s_i^2)
(0 = same spectrum; fresh timm ResNet-18 layers 0.002-0.013, i.i.d. matrices with M = 16-27 up to
~0.03, trained EfficientNet-Lite0 pointwise convs 0.036-0.16 measured here).
Cost cap: the larger dimension is sub-sampled to at most ``max_n`` (2048) and the smaller to at most
``max_m`` (1024) rows/columns (stats.sampling.crop with default_rng(seed): rows, then columns, without
replacement, in order; the shuffles continue on the same generator; MP of the sampled matrix,
``sampled_shape`` records it). Plots draw ``mp_curve(spectral(...))``: the scoring's sigma^2 and edge. Eigenvalues come from the M x M Gram matrix in
float64 (numpy eigvalsh; 40x faster than an SVD of the wide matrix), s = sqrt(max(eig, 0)).
The verdict's spectra (verdict.features.spectrum: 256 x 1024) and compare's (compare.metrics.matrix_view)
are the same kind of crop, drawn by stats.sampling.crop.

Sketch error bound (what a cropped spectrum says about the whole matrix). W is M x N (M <= N, rows the
smaller side), lambda = eig(G), G = W W^T / N (this module's convention); the crop keeps m of the M rows
(set S) and c of the N columns (set T), each uniform without replacement and independent, and ``eigs`` are
lambda_hat = eig(C C^T) / c of C = W[S][:, T]. The estimate of the whole spectrum is
    lambda_tilde = (M / m) lambda_hat   (``eigs_full``; m values, the other M - m taken as 0),
in two steps, each an unbiased sample mean of rank-one matrices:
  columns: G_T = A A^T / c, A = W[:, T], has E[G_T] = G; rows: H_S = C^T C / m has E[H_S] = H = A^T A / M,
  and the nonzero eigenvalues give eig(G_T) = (M/c) eig(H), lambda_tilde = (M/c) eig(H_S).
Hoffman-Wielandt (sorted eigenvalues of symmetric matrices, ||eig(X) - eig(Y)||_2 <= ||X - Y||_F) and
Weyl (max_i |lambda_i(X) - lambda_i(Y)| <= ||X - Y||_2) then give, for every draw (vectors zero-padded),
    ||lambda_tilde - lambda||_2     <= ||G_T - G||_F + (M/c) ||H_S - H||_F,
    max_i |lambda_tilde_i - lambda_i| <= ||G_T - G||_2 + (M/c) ||H_S - H||_2   (the top eigenvalue, spikes),
and the mean of k of K population members x_j drawn without replacement has the exact variance
(Cochran 1977, Sampling Techniques, Thm 2.2, summed over coordinates)
    E||mean - x_bar||^2 = (K - k) / (k (K - 1)) * (1/K sum_j ||x_j||^2 - ||x_bar||^2),
here with ||w_j w_j^T||_F = ||w_j||^2 (w_j the columns of W; for H_S the rows a_i of A):
    V_col = E||G_T - G||_F^2 = (N - c) / (c (N - 1)) * (1/N sum_j ||w_j||^4 - ||G||_F^2),
    V_row = E[||H_S - H||_F^2 | T] = (M - m) / (m (M - 1)) * (1/M sum_i ||a_i||^4 - ||H||_F^2),
so E||lambda_tilde - lambda||_2^2 <= 2 V_col + 2 (M/c)^2 E[V_row], and by Markov, with probability >= 1 - d,
||lambda_tilde - lambda||_2 <= sqrt((2 V_col + 2 (M/c)^2 E[V_row]) / d). Both terms are 0 when nothing is
cropped (c = N, m = M: the exact spectrum). For i.i.d. entries the expected bound is about
||lambda||_2 sqrt(2 (M/c)(1 - c/N) + 2 (M/m - 1)) (up to O(1/M) terms): the bulk of a cropped spectrum is MP
of the cropped shape, not of the whole (which is why the MP null above is taken at ``sampled_shape``), while
spikes move only by the operator-norm terms (the test's spiked 320 x 2048 matrix cropped to 256 x 1024,
seeds 0-2: the top eigenvalue within 1-9 %, Weyl's bound 13-19 % of it; the expected l2 bound about 25 % of
||lambda||_2). tests/stats/test_spectral_sketch.py checks both inequalities against numpy's exact
eigenvalues, the variance formulas by Monte Carlo, and that an absent sketch, a biased crop (the first rows
and columns) or a missing M/m rescale breaks the bound.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import blas, sampling
from .shapes import as_matrix

TW_T = 4.0
CONVENTION = "(out, in/groups*prod(kernel)); lambda = s^2/N, N = max dim"


@dataclass
class Spectral:
    sv: np.ndarray            # singular values, descending (of the sampled matrix)
    convention: str
    shape: tuple[int, int]    # matrix shape after the conv reshape
    sampled_shape: tuple[int, int]
    q: float                  # M / N <= 1
    mp_sigma2: float
    mp_edge: float            # lambda_+
    spike_threshold: float    # lambda_+ plus the Tracy–Widom margin
    n_spikes: int
    top_eig: float
    top_over_edge: float
    mp_softrank: float
    shuffle_distance: float
    seed: int

    @property
    def eigs(self) -> np.ndarray:
        return self.sv.astype(np.float64) ** 2 / max(self.sampled_shape)

    @property
    def eigs_full(self) -> np.ndarray:
        """Estimate of the whole matrix's largest min(sampled_shape) eigenvalues s^2 / N: ``eigs`` times
        M / m (the smaller side's length over its sampled length; module doc, 'Sketch error bound')."""
        return self.eigs * (min(self.shape) / min(self.sampled_shape))

    def to_dict(self, with_sv: bool = False) -> dict:
        d = {k: getattr(self, k) for k in (
            "convention", "q", "mp_sigma2", "mp_edge", "spike_threshold", "n_spikes", "top_eig",
            "top_over_edge", "mp_softrank", "shuffle_distance", "seed")}
        d = {k: (v if isinstance(v, str) else (int(v) if k in ("n_spikes", "seed") else float(v)))
             for k, v in d.items()}
        d["shape"] = list(self.shape)
        d["sampled_shape"] = list(self.sampled_shape)
        if with_sv:
            d["sv"] = self.sv.tolist()
        return d


def mp_edge(sigma2: float, q: float) -> float:
    """Upper MP edge lambda_+ = sigma^2 (1 + sqrt q)^2 (Marchenko & Pastur 1967)."""
    return sigma2 * (1 + np.sqrt(q)) ** 2


def mp_pdf(x, sigma2: float, q: float) -> np.ndarray:
    """MP density of the eigenvalues of X^T X / N, X (N x M) i.i.d. of variance sigma^2, q = M/N <= 1:
    p(x) = sqrt((l+ - x)(x - l-)) / (2 pi sigma^2 q x) on (l-, l+), l+- = sigma^2 (1 +- sqrt q)^2."""
    x = np.asarray(x, dtype=np.float64)
    lp, lm = mp_edge(sigma2, q), sigma2 * (1 - np.sqrt(q)) ** 2
    inside = (x > lm) & (x < lp)
    out = np.zeros_like(x)
    xi = x[inside]
    out[inside] = np.sqrt((lp - xi) * (xi - lm)) / (2 * np.pi * sigma2 * q * xi)
    return out


@dataclass
class MPCurve:
    """What a spectrum plot draws, taken from the scoring's :class:`Spectral` (same sigma^2, q, edge)."""
    eigs: np.ndarray          # lambda_i = s_i^2 / N of the sampled matrix, descending
    sampled_shape: tuple[int, int]
    sigma2: float
    q: float
    edge: float               # lambda_+
    spike_threshold: float    # the Tracy–Widom threshold the spike count uses
    n_spikes: int
    x: np.ndarray             # grid on [lambda_-, lambda_+]
    pdf: np.ndarray           # mp_pdf on the grid


def mp_curve(sp: Spectral, points: int = 400) -> MPCurve:
    """The MP overlay of a spectrum plot from the scoring's result (no second SVD, no other sigma^2)."""
    lo = sp.mp_sigma2 * (1 - np.sqrt(sp.q)) ** 2
    x = np.linspace(lo, sp.mp_edge, points) if sp.mp_edge > 0 else np.zeros(0)
    return MPCurve(sp.eigs, sp.sampled_shape, sp.mp_sigma2, sp.q, sp.mp_edge, sp.spike_threshold, sp.n_spikes,
                   x, mp_pdf(x, sp.mp_sigma2, sp.q) if x.size else x)


def _svdvals(m: np.ndarray) -> np.ndarray:
    """Singular values, descending, from the eigenvalues of the smaller Gram matrix (float64)."""
    a = np.asarray(m, dtype=np.float64)
    g = a @ a.T if a.shape[0] <= a.shape[1] else a.T @ a
    ev = np.linalg.eigvalsh(g)[::-1]
    return np.sqrt(np.clip(ev, 0.0, None))


def mp_threshold(sigma2: float, n: int, m: int, t: float = TW_T) -> float:
    """sigma^2 (mu_NM + t s_NM) / N, Johnstone's centring and scaling for the largest eigenvalue."""
    big, small = max(n, m), min(n, m)
    a, b = np.sqrt(max(big - 1, 1)), np.sqrt(small)
    mu = (a + b) ** 2
    s = (a + b) * (1 / a + 1 / b) ** (1 / 3)
    return float(sigma2 * (mu + t * s) / big)


def spectral(w2d, seed: int = 0, max_n: int = 2048, max_m: int = 1024,
             blas_threads: int | None = 1) -> Spectral:
    """Singular values, MP fit, spikes and shuffle distance of a weight matrix (see module doc)."""
    with blas.limit(blas_threads):
        return _spectral(w2d, seed, max_n, max_m)


def _spectral(w2d, seed: int, max_n: int, max_m: int) -> Spectral:
    w = as_matrix(w2d)
    shape = (int(w.shape[0]), int(w.shape[1]))
    rng = sampling.rng(seed)
    caps = (max_n, max_m) if w.shape[0] >= w.shape[1] else (max_m, max_n)
    w = sampling.crop(w, *caps, rng=rng)
    w = np.asarray(w, dtype=np.float64)
    n, m = max(w.shape), min(w.shape)
    sv = _svdvals(w)
    eig = sv**2 / n
    sigma2 = float(np.sum(w**2) / (n * m))
    q = m / n
    if sigma2 <= 0 or m < 1:
        nan = float("nan")
        return Spectral(sv, CONVENTION, shape, tuple(w.shape), q, sigma2, 0.0, 0.0, 0, 0.0, nan, nan, nan, seed)
    edge = mp_edge(sigma2, q)
    thr = mp_threshold(sigma2, n, m)
    top = float(eig[0])
    k = int(np.clip(300_000 // w.size, 1, 8))
    flat = w.reshape(-1)
    sv_s = np.mean([_svdvals(rng.permutation(flat).reshape(w.shape)) for _ in range(k)], axis=0)
    dist = float(np.mean(np.abs(sv - sv_s)) / np.sqrt(np.mean(sv**2)))
    return Spectral(
        sv=sv, convention=CONVENTION, shape=shape, sampled_shape=(int(w.shape[0]), int(w.shape[1])),
        q=float(q), mp_sigma2=sigma2, mp_edge=float(edge), spike_threshold=thr,
        n_spikes=int(np.sum(eig > thr)), top_eig=top, top_over_edge=top / edge,
        mp_softrank=float(edge / top) if top > 0 else float("nan"), shuffle_distance=dist, seed=seed,
    )
