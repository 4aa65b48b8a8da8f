"""paramstat.features: groups, scale-free features, oracles for KS D, runs Z and the MP spectrum."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as ss
from statsmodels.sandbox.stats.runs import runstest_1samp

from paramstat.record import TensorRecord
from paramstat.verdict import features as F


def rec(arr, role="linear", name="w", dtype=None, fan_in=None, fan_out=None):
    arr = np.asarray(arr)
    shape = tuple(arr.shape)
    if fan_in is None and len(shape) >= 2:
        rf = int(np.prod(shape[2:])) if len(shape) > 2 else 1
        fan_in, fan_out = shape[1] * rf, shape[0] * rf
    return TensorRecord(name=name, stored_name=name, dtype=dtype or str(arr.dtype), shape=shape, role=role,
                        depth=0, fan_in=fan_in, fan_out=fan_out, reader=lambda: arr)


def test_groups():
    assert F.role_group(rec(np.zeros((4, 3), np.float32))) == "matrix"
    assert F.role_group(rec(np.zeros((8, 3, 3, 3), np.float32), role="conv")) == "matrix"
    assert F.role_group(rec(np.zeros(8, np.float32), role="bias")) == "vector"
    assert F.role_group(rec(np.zeros(8, np.float32), role="norm_weight")) == "norm"
    assert F.role_group(rec(np.zeros(8, np.float32), role="running_stat")) == "running_stat"
    assert F.role_group(rec(np.zeros((1, 1, 8), np.float32), role="positional")) == "vector"
    assert F.role_group(rec(np.zeros(8, np.int64), role="running_stat")) == "skipped"


def test_ks_d_matches_scipy():
    rng = np.random.default_rng(0)
    x = np.sort(rng.normal(0.1, 2.0, 5000))
    d = F._ks_d(x, F._norm_cdf(0.0, 2.0))
    assert d == pytest.approx(ss.kstest(x, ss.norm(0, 2).cdf).statistic, abs=1e-12)
    u = np.sort(rng.uniform(-0.3, 0.3, 3000))
    assert F._ks_d(u, F._unif_cdf(-0.3, 0.3)) == pytest.approx(ss.kstest(u, ss.uniform(-0.3, 0.6).cdf).statistic,
                                                               abs=1e-12)
    # a CDF with bounded support (truncated normal at absolute bounds; its law now lives in
    # paramstat.stats.signatures, tested there): _ks_d against scipy's kstest
    tn = ss.truncnorm(-2 / 0.7, 2 / 0.7, scale=0.7)
    t = np.sort(tn.rvs(4000, random_state=1))
    assert F._ks_d(t, tn.cdf) == pytest.approx(ss.kstest(t, tn.cdf).statistic, abs=1e-9)


def test_value_runs_matches_statsmodels():
    rng = np.random.default_rng(1)
    x = np.cumsum(rng.normal(size=2000))  # strongly serially dependent: few runs
    med = float(np.median(x))
    r = F._value_runs(x, med)
    z_sm, _ = runstest_1samp(x, cutoff=med, correction=False)
    assert r["z"] == pytest.approx(z_sm, rel=1e-9)
    assert r["z"] < -30


def test_signature_finds_the_init():
    rng = np.random.default_rng(2)
    fan_in = 576
    w = rng.uniform(-1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in), size=(64, 64, 3, 3)).astype(np.float32)
    sig = F._signature(w, rec(w, role="conv"), np.sort(w.reshape(-1).astype(np.float64)))
    assert sig["best"] in ("pytorch_default", "kaiming_uniform(a=sqrt5) / default"), sig
    assert sig["ks_d"] < 0.02
    assert sig["scale_ratio"] == pytest.approx(1.0, abs=0.02)
    he = rng.normal(0, math.sqrt(2 / (64 * 9)), size=(64, 64, 3, 3)).astype(np.float32)
    sig2 = F._signature(he, rec(he, role="conv"), np.sort(he.reshape(-1).astype(np.float64)))
    assert "kaiming_normal" in sig2["best"] and sig2["ks_d"] < 0.02


def test_spectral_iid_vs_spiked():
    rng = np.random.default_rng(3)
    w = rng.normal(size=(128, 512)).astype(np.float32)
    s = F._spectral(w)
    assert s["n_spikes"] == 0
    assert 0.9 < s["top_over_edge"] < 1.1
    u, v = rng.normal(size=(128, 3)), rng.normal(size=(3, 512))
    w2 = (w + 0.5 * (u @ v)).astype(np.float32)
    s2 = F._spectral(w2)
    assert s2["n_spikes"] >= 3 and s2["top_over_edge"] > 2.0
    assert F._spectral(np.ones((4, 100), np.float32)) is None


def test_scale_free_features():
    """Shape features do not change when the tensor is multiplied by a constant."""
    rng = np.random.default_rng(4)
    w = rng.standard_t(5, size=(96, 200)).astype(np.float32)
    a = F.tensor_features(rec(w), w)
    b = F.tensor_features(rec(w * 3.0), w * 3.0)
    for k in ("free_ks_stat", "robust_kurt", "kurt", "runs_z", "spike_frac", "top_over_edge_log"):
        assert a.values[k] == pytest.approx(b.values[k], rel=1e-4, abs=1e-6), k
    assert a.values["kurt"] > 1.0  # t5: excess kurtosis 6 in theory, heavy in any sample


def test_constant_and_nonfinite():
    f = F.tensor_features(rec(np.ones(64, np.float32), role="norm_weight"), np.ones(64, np.float32))
    assert f.notes["constant"] == 1.0 and f.values == {}
    x = np.random.default_rng(5).normal(size=(32, 32)).astype(np.float32)
    x[0, :3] = [np.nan, np.inf, -np.inf]
    g = F.tensor_features(rec(x), x)
    assert g.stats["nonfinite"] == 3 and g.notes["n"] == 1021
    assert all(math.isfinite(v) for v in g.values.values())


def test_bf16_history_and_dtypes():
    import torch

    t = torch.randn(64, 128)
    # fp32 values that passed through bf16: 16 low bits constant (zero)
    via = t.to(torch.bfloat16).to(torch.float32).numpy()
    f = F.tensor_features(rec(via), via)
    assert f.stats["low_bits_constant"] == 16
    assert f.values["bit0_dev"] == 0.0  # not scored: the low bits carry the format's history
    # bf16 stored as raw uint16 bits
    raw = t.to(torch.bfloat16).view(torch.uint16).numpy()
    g = F.tensor_features(rec(raw, dtype="bfloat16"), raw)
    assert g.group == "matrix" and g.notes["n"] == 64 * 128
    assert g.values["free_ks_stat"] < 0.6  # still a normal of its own scale
    h = t.to(torch.float16).numpy()
    assert F.tensor_features(rec(h), h).group == "matrix"


# ------------------------------------------------------------------------------------------ edge smear

def _edge(x, dtype="float32"):
    from paramstat.stats.moments import moments
    from paramstat.verdict.features import edge_smear

    xs = np.sort(x.astype(np.float64))
    return edge_smear(x, float(moments(xs).kurt), dtype)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(512, 200_000), log_b=st.floats(-6, 1), seed=st.integers(0, 2**31 - 1),
       kind=st.sampled_from(["uniform", "normal", "trunc2"]), dtype=st.sampled_from(["float32", "float16",
                                                                                     "bfloat16"]))
@pytest.mark.slow
def test_edge_smear_never_fires_on_fresh_inits(n, log_b, seed, kind, dtype):
    """Fresh U(-b, b) of any size and bound (and normal / 2-sigma truncated normal inits), stored in fp32, fp16
    or bf16 (rounding may put a value one ulp beyond b): no edge smear."""
    import torch

    rng = np.random.default_rng(seed)
    b = 10.0 ** log_b
    if kind == "uniform":
        x = rng.uniform(-b, b, n)
    elif kind == "normal":
        x = rng.normal(0, b, n)
    else:
        x = rng.normal(0, b, 4 * n)
        x = x[np.abs(x) <= 2 * b][:n]
    x = torch.from_numpy(x.astype(np.float32)).to(getattr(torch, dtype)).float().numpy()  # stored and read back
    assert _edge(x, dtype) is None


def test_edge_smear_fires_on_a_uniform_init_that_moved():
    """U(-b, b) plus small updates (N(0, (0.1 b)^2)): values escape the bound 2 median|x| while the body stays
    uniform — the PyTorch-default layer after a little training."""
    rng = np.random.default_rng(0)
    b = 1 / np.sqrt(256)
    w0 = rng.uniform(-b, b, (256, 256))
    w = (w0 + rng.normal(0, 0.1 * b, w0.shape)).astype(np.float32)
    es = _edge(w)
    assert es is not None and es["kurt"] < -0.95
    b_hat = 2 * np.median(np.abs(w.ravel().astype(np.float64))) * (1 + 6 / np.sqrt(w.size))
    exp_bound = b_hat + 2 * float(np.spacing(np.float32(b_hat)))
    assert es["bound"] == pytest.approx(exp_bound, rel=1e-12)
    assert es["count"] == int(np.count_nonzero(np.abs(w) > es["bound"])) > 100
    # through the verdict: trained, with the rule's evidence first
    from paramstat.record import TensorRecord
    from paramstat.verdict import judge_tensor

    r = TensorRecord("fc.weight", "fc.weight", "float32", w.shape, "linear", 0, fan_in=256, fan_out=256)
    tv = judge_tensor(r, w)
    assert tv.verdict == "trained" and tv.score >= 0.95 and tv.evidence[0].feature == "edge_smear"
    assert _edge(w0.astype(np.float32)) is None
