"""Spectral statistics: closed-form MP against numpy SVD, fresh anchors, spiked matrices."""
import numpy as np
import pytest

from paramstat.stats.spectral import as_matrix, mp_threshold, spectral


def test_eigenvalues_and_mp_closed_form():
    w = np.random.default_rng(0).uniform(-0.1, 0.1, (300, 120)).astype(np.float32)
    s = spectral(w)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):  # 2 BLAS threads stall on a busy 2-core machine
        ref = np.linalg.svd(w.astype(np.float64), compute_uv=False)
    np.testing.assert_allclose(s.sv, ref, rtol=1e-9, atol=1e-9)
    n, m = 300, 120
    sigma2 = np.mean(w.astype(np.float64) ** 2)
    assert s.mp_sigma2 == pytest.approx(sigma2, rel=1e-12)
    assert s.mp_sigma2 == pytest.approx(np.mean(ref**2 / n), rel=1e-9)  # = mean eigenvalue
    assert s.q == pytest.approx(m / n)
    assert s.mp_edge == pytest.approx(sigma2 * (1 + np.sqrt(m / n)) ** 2, rel=1e-12)
    assert s.top_eig == pytest.approx(ref[0] ** 2 / n, rel=1e-9)
    assert s.top_over_edge == pytest.approx(s.top_eig / s.mp_edge)
    # Johnstone's finite-size threshold, hand-computed: sigma2 * (mu + 4 s) / N
    a, b = np.sqrt(n - 1), np.sqrt(m)
    thr = sigma2 * ((a + b) ** 2 + 4 * (a + b) * (1 / a + 1 / b) ** (1 / 3)) / n
    assert s.spike_threshold == pytest.approx(thr, rel=1e-12)
    assert mp_threshold(1.0, 120, 300) == pytest.approx(mp_threshold(1.0, 300, 120))
    assert s.spike_threshold > s.mp_edge
    # transposed matrix: same spectrum
    assert spectral(w.T).top_eig == pytest.approx(s.top_eig, rel=1e-9)


@pytest.mark.parametrize("shape", [(64, 27), (64, 576), (512, 256), (1000, 512), (96, 16)])
def test_iid_matrices_have_no_spikes(shape):
    for seed in range(3):
        rng = np.random.default_rng(seed)
        w = (rng.standard_normal(shape) if seed % 2 else rng.uniform(-1, 1, shape)).astype(np.float32)
        s = spectral(w, seed=seed)
        assert s.n_spikes == 0
        assert 0.8 < s.top_over_edge < 1.1
        assert s.shuffle_distance < (0.04 if min(shape) < 32 else 0.015)


def test_fresh_timm_resnet18_anchor():
    timm = pytest.importorskip("timm")
    import torch

    torch.manual_seed(0)
    m = timm.create_model("resnet18", pretrained=False)
    n = 0
    for name, p in m.state_dict().items():
        if p.ndim in (2, 4) and min(as_matrix(p.numpy()).shape) >= 16:
            s = spectral(p.numpy())
            assert s.n_spikes == 0, name
            assert s.shuffle_distance < 0.02, name
            assert s.mp_softrank > 0.85, name
            n += 1
    assert n == 21


@pytest.mark.parametrize("rank", [1, 3, 8])
def test_spiked_matrix_trained_side(rank):
    rng = np.random.default_rng(rank)
    n, m = 400, 200
    noise = rng.standard_normal((n, m))
    u = np.linalg.qr(rng.standard_normal((n, rank)))[0]
    v = np.linalg.qr(rng.standard_normal((m, rank)))[0]
    theta = np.sqrt(n) * np.linspace(3.0, 5.0, rank)  # well above the BBP threshold (q^1/4 sqrt N)
    w = (noise + (u * theta) @ v.T).astype(np.float32)
    s = spectral(w)
    assert s.n_spikes == rank
    assert s.top_over_edge > 2
    # W1 averages over all M = 200 values: a few outliers move it a little, many a lot
    assert s.shuffle_distance > {1: 0.015, 3: 0.04, 8: 0.08}[rank]
    # the same entries shuffled: spikes gone
    flat = w.reshape(-1).copy()
    rng.shuffle(flat)
    assert spectral(flat.reshape(w.shape)).n_spikes == 0


def test_conv_convention_sampling_and_edges():
    w = np.random.default_rng(1).standard_normal((8, 4, 3, 3)).astype(np.float32)
    s = spectral(w)
    assert s.shape == (8, 36) and s.sampled_shape == (8, 36) and s.sv.size == 8
    big = np.random.default_rng(2).standard_normal((3000, 40)).astype(np.float32)
    s1, s2 = spectral(big, seed=5), spectral(big, seed=5)
    assert s1.sampled_shape == (2048, 40) and s1.shape == (3000, 40)
    assert s1.to_dict() == s2.to_dict() and s1.n_spikes == 0
    wide = np.random.default_rng(3).standard_normal((1500, 3000)).astype(np.float32)
    assert spectral(wide).sampled_shape == (1024, 2048)
    z = spectral(np.zeros((10, 20), np.float32))
    assert z.n_spikes == 0 and np.isnan(z.top_over_edge)
    d = s.to_dict()
    assert "sv" not in d and d["shape"] == [8, 36] and isinstance(d["n_spikes"], int)
    assert len(s.to_dict(with_sv=True)["sv"]) == 8
