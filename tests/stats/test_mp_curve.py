"""The spectrum plot's MP overlay comes from the scoring's Spectral (one sigma^2, one edge)."""
import numpy as np
import pytest
from scipy.integrate import quad

from paramstat.stats.spectral import mp_curve, mp_edge, mp_pdf, spectral


def test_plot_edge_is_the_scores():
    w = np.random.default_rng(0).normal(0.3, 1.0, (256, 512))
    sp = spectral(w)
    c = mp_curve(sp)
    assert c.edge == sp.mp_edge == pytest.approx(3.18, abs=0.005)
    # the old plot's centred sigma^2 gave 2.92 here: not what the score used
    centred = np.mean((w - w.mean()) ** 2) * (1 + np.sqrt(0.5)) ** 2
    assert centred == pytest.approx(2.92, abs=0.005) and abs(c.edge - centred) > 0.2
    assert c.sigma2 == sp.mp_sigma2 and c.q == sp.q == 0.5 and c.n_spikes == sp.n_spikes >= 1
    assert np.array_equal(c.eigs, sp.eigs) and c.x[-1] == c.edge and c.pdf.shape == c.x.shape


@pytest.mark.parametrize("q", [0.1, 0.5, 1.0])
def test_mp_pdf_integrates_to_one(q):
    lm, lp = 2.0 * (1 - np.sqrt(q)) ** 2, mp_edge(2.0, q)
    val, _ = quad(lambda x: mp_pdf(np.array([x]), 2.0, q)[0], lm, lp, limit=200)
    assert val == pytest.approx(1.0, abs=2e-3)
    mean, _ = quad(lambda x: x * mp_pdf(np.array([x]), 2.0, q)[0], lm, lp, limit=200)
    assert mean == pytest.approx(2.0, rel=2e-3)  # E[lambda] = sigma^2
