"""The cropped spectrum's error bound (paramstat.stats.spectral, module doc 'Sketch error bound') against
numpy's exact eigenvalues of the whole matrix: the per-draw Hoffman-Wielandt and Weyl inequalities, the
exact without-replacement variance (Monte Carlo), the expected-error bound, and two wrong sketches (a biased
crop, a missing M/m rescale) that the same check rejects."""
from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from paramstat.stats.sampling import crop_index
from paramstat.stats.spectral import spectral

M, N = 320, 2048          # whole matrix (rows the smaller side)
ROWS, COLS = 256, 1024    # the verdict's crop (verdict.features.SPECTRAL_MAX_DIM x 4 of it)
SEEDS = range(8)


def _matrix() -> np.ndarray:
    """Noise + a rank-3 signal, rows and columns of unequal energy growing with the index, so a crop of the
    first rows/columns is biased and a uniform one is not."""
    rng = np.random.default_rng(0)
    u = np.linalg.qr(rng.standard_normal((M, 3)))[0]
    v = np.linalg.qr(rng.standard_normal((N, 3)))[0]
    w = rng.standard_normal((M, N)) + (u * (np.sqrt(N) * np.array([12.0, 8.0, 6.0]))) @ v.T
    w *= np.linspace(0.1, 1.9, M)[:, None] * np.linspace(0.1, 1.9, N)[None, :]
    return w.astype(np.float32).astype(np.float64)


def _eig_desc(g: np.ndarray) -> np.ndarray:
    return np.linalg.eigvalsh(g)[::-1]


def _pad(x: np.ndarray, k: int) -> np.ndarray:
    return np.concatenate([x, np.zeros(max(0, k - x.size))])[:k]


def _var_of_mean(vectors_sq_norms: np.ndarray, mean_sq_norm: float, k: int) -> float:
    """Cochran's E||mean of k drawn without replacement - population mean||^2 from sum ||x_j||^2, ||x_bar||^2."""
    big_k = vectors_sq_norms.size
    return (big_k - k) / (k * (big_k - 1)) * (float(vectors_sq_norms.mean()) - mean_sq_norm)


@pytest.fixture(scope="module")
def whole():
    w = _matrix()
    with threadpool_limits(1, user_api="blas"):
        g = w @ w.T / N
        lam = _eig_desc(g)
        ref = np.linalg.svd(w, compute_uv=False) ** 2 / N  # the oracle: numpy's SVD of the whole matrix
    np.testing.assert_allclose(lam[: ref.size], ref, rtol=1e-8, atol=1e-10 * ref[0])
    v_col = _var_of_mean(np.sum(w * w, axis=0) ** 2, float(np.sum(g * g)), COLS)
    return w, g, lam, v_col


def _terms(w, g, ri, ci):
    """(||G_T - G||_F, ||G_T - G||_2, (M/c)||H_S - H||_F, (M/c)||H_S - H||_2, V_row given T)."""
    a = w[:, ci]
    k = a @ a.T                       # A A^T (M x M)
    dg = k / COLS - g
    # H_S - H = A^T D A with D = diag(1[i in S]/m - 1/M): its norms from M x M matrices (not c x c):
    # ||A^T D A||_F^2 = tr(D K D K), and its eigenvalues are those of K^1/2 D K^1/2
    d = np.full(M, -1.0 / M)
    d[ri] += 1.0 / ROWS
    dk = d[:, None] * k
    fro_h = float(np.sqrt(max(np.sum(dk * dk.T), 0.0)))
    ev, vec = np.linalg.eigh(k)
    root = (vec * np.sqrt(np.clip(ev, 0, None))) @ vec.T
    op_h = float(np.max(np.abs(np.linalg.eigvalsh(root @ (d[:, None] * root)))))
    v_row = _var_of_mean(np.sum(a * a, axis=1) ** 2, float(np.sum(k * k)) / M**2, ROWS)
    s = M / COLS
    op_g = float(np.max(np.abs(np.linalg.eigvalsh(dg))))
    return float(np.linalg.norm(dg)), op_g, s * fro_h, s * op_h, v_row


def _check(lam_tilde, lam, w, g, ri, ci) -> tuple[bool, float, float]:
    """(both per-draw inequalities hold, squared l2 error, its bound 2 (||.||_F terms)^2)."""
    fro_g, op_g, fro_h, op_h, _ = _terms(w, g, ri, ci)
    lt = _pad(lam_tilde, M)
    err2 = float(np.sum((lt - lam) ** 2))
    ok = np.sqrt(err2) <= (fro_g + fro_h) * (1 + 1e-9) and np.max(np.abs(lt - lam)) <= (op_g + op_h) * (1 + 1e-9)
    return bool(ok), err2, 2 * fro_g**2 + 2 * fro_h**2


def _expected_bound(w, g, v_col, seeds=SEEDS) -> float:
    """sqrt(2 V_col + 2 (M/c)^2 E[V_row]) (E over the column draws of ``seeds``): by Markov, a uniform crop's
    l2 error exceeds k times this with probability <= 1/k^2."""
    v_rows = [_terms(w, g, *crop_index((M, N), ROWS, COLS, seed=s))[4] for s in seeds]
    return float(np.sqrt(2 * v_col + 2 * (M / COLS) ** 2 * np.mean(v_rows)))


@pytest.mark.slow   # ~5 s: exact SVDs of 320x2048 crops
def test_cropped_spectrum_within_its_bound_of_the_exact_spectrum(whole):
    w, g, lam, v_col = whole
    w32 = w.astype(np.float32)
    errs, col_sq, row_sq, v_rows = [], [], [], []
    with threadpool_limits(1, user_api="blas"):
        for seed in SEEDS:
            sp = spectral(w32, seed=seed, max_n=COLS, max_m=ROWS)
            assert sp.sampled_shape == (ROWS, COLS) and sp.shape == (M, N)
            ri, ci = crop_index((M, N), ROWS, COLS, seed=seed)  # the draws spectral's crop made
            ok, err2, _ = _check(sp.eigs_full, lam, w, g, ri, ci)
            assert ok, seed
            fro_g, op_g, fro_h, op_h, v_row = _terms(w, g, ri, ci)
            errs.append(err2)
            col_sq.append(fro_g**2)
            row_sq.append((fro_h / (M / COLS)) ** 2)
            v_rows.append(v_row)
            # the spike: Weyl's bound places the top eigenvalue within a quarter of its value on every draw
            assert op_g + op_h < 0.25 * lam[0], seed
    # the exact variance formulas, by Monte Carlo over the draws (8 draws: within 50 %)
    assert 0.5 < np.mean(col_sq) / v_col < 1.5, (np.mean(col_sq), v_col)
    assert 0.5 < np.mean(row_sq) / np.mean(v_rows) < 1.5, (np.mean(row_sq), np.mean(v_rows))
    # the expected-error bound of the docstring holds on average, and it is informative: below half of
    # ||lambda||_2, the error of an absent (all-zero) sketch
    bound = _expected_bound(w, g, v_col)
    assert np.mean(errs) <= bound**2, (np.mean(errs), bound)
    assert bound < 0.5 * np.linalg.norm(lam)


def test_the_verdicts_crop_is_the_same_sketch(whole):
    """verdict.features.spectrum (the crop the verdict scores) = spectral's own crop of the same draw."""
    from paramstat.verdict.features import SPECTRAL_MAX_DIM, spectrum

    assert (SPECTRAL_MAX_DIM, 4 * SPECTRAL_MAX_DIM) == (ROWS, COLS)
    w, g, lam, _ = whole
    w32 = w.astype(np.float32)
    sp = spectrum(w32)
    assert sp.shape == (M, N) and sp.sampled_shape == (ROWS, COLS)  # the whole matrix's shape: eigs_full scaled
    np.testing.assert_array_equal(sp.sv, spectral(w32, seed=0, max_n=COLS, max_m=ROWS).sv)
    ri, ci = crop_index((M, N), ROWS, COLS, seed=0)
    with threadpool_limits(1, user_api="blas"):
        assert _check(sp.eigs_full, lam, w, g, ri, ci)[0]
        assert spectrum(w32.T).eigs_full == pytest.approx(sp.eigs_full, rel=1e-6)  # tall: the same crop


@pytest.mark.slow   # ~5 s: exact SVDs of 320x2048 crops
def test_wrong_sketches_break_the_bound(whole):
    """The checks can fail: an absent sketch (zeros), the first rows and columns instead of a uniform draw,
    and the uniform crop's eigenvalues without the M/m rescale each break the bound."""
    w, g, lam, v_col = whole
    w32 = w.astype(np.float32)
    bound = _expected_bound(w, g, v_col)
    with threadpool_limits(1, user_api="blas"):
        # absent: ||0 - lambda|| = ||lambda||, more than 2x the bound (a uniform draw: probability <= 1/4)
        assert np.linalg.norm(lam) > 2 * bound
        # biased: the first rows and columns (low energy here), rescaled as a uniform crop would be
        lam_b = spectral(w32[:ROWS, :COLS], seed=0).eigs * (M / ROWS)
        assert np.linalg.norm(_pad(lam_b, M) - lam) > 2 * bound
        for seed in range(3):  # no rescale: Weyl's per-draw bound fails on the top eigenvalues
            sp = spectral(w32, seed=seed, max_n=COLS, max_m=ROWS)
            ri, ci = crop_index((M, N), ROWS, COLS, seed=seed)
            assert _check(sp.eigs_full, lam, w, g, ri, ci)[0]
            assert not _check(sp.eigs, lam, w, g, ri, ci)[0], seed
