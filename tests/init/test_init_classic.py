"""Classic inits: variances against the papers' formulas, bounds, orthogonality, determinism."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn

from paramstat.errors import ParamstatError
from paramstat.init import apply_init

FI, FO = 400, 300


def _lin():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(FI, FO), nn.LayerNorm(FO), nn.Embedding(50, 8))


# scheme -> variance (Glorot & Bengio 2010; He et al. 2015; LeCun; Hanin & Rolnick 2018)
VARS = {
    "xavier_normal": 2 / (FI + FO), "xavier_uniform": 2 / (FI + FO), "kaiming_normal": 2 / FI,
    "he_normal": 2 / FI, "kaiming_uniform": 2 / FI, "he_uniform": 2 / FI, "kaiming_normal_fan_out": 2 / FO,
    "lecun_normal": 1 / FI, "trunc_normal": 0.02 ** 2, "he_trunc": 2 / FI, "he_2x": 4 / FI, "fan_in_1": 1 / FI,
}


@pytest.mark.parametrize("scheme", sorted(VARS))
def test_variance_matches_formula(scheme):
    m = _lin()
    rep = apply_init(m, scheme, seed=3)
    w = m[0].weight.detach().double().numpy().ravel()
    # 120k values: relative standard error of the variance ~ sqrt(2/n) = 0.4%; allow 3%
    assert w.var() == pytest.approx(VARS[scheme], rel=0.03)
    assert abs(w.mean()) < 4 * math.sqrt(VARS[scheme] / w.size)
    assert rep["params"]["0.weight"]["action"] == rep["scheme"]


def test_uniform_bounds_and_kurtosis():
    m = _lin()
    apply_init(m, "xavier_uniform", seed=1)
    w = m[0].weight.detach().numpy().ravel()
    b = math.sqrt(6 / (FI + FO))
    assert np.abs(w).max() <= b + 1e-7
    assert np.abs(w).max() > 0.99 * b
    assert stats.kurtosis(w) == pytest.approx(-1.2, abs=0.03)   # uniform: excess kurtosis -6/5


def test_truncated_schemes_cut_at_two_sd():
    m = _lin()
    apply_init(m, "he_trunc", seed=1)
    w = m[0].weight.detach().double().numpy().ravel()
    sd_pre = math.sqrt(2 / FI / stats.truncnorm(-2, 2).var())   # the untruncated sd
    assert np.abs(w).max() <= 2 * sd_pre + 1e-9
    assert np.abs(w).max() > 1.95 * sd_pre
    assert stats.kurtosis(w) == pytest.approx(stats.truncnorm(-2, 2).stats(moments="k"), abs=0.05)


def test_orthogonal_rows():
    m = _lin()
    apply_init(m, "orthogonal", seed=0)
    w = m[0].weight.detach().double()          # 300 x 400: orthonormal rows
    assert torch.allclose(w @ w.T, torch.eye(FO, dtype=torch.float64), atol=1e-5)


def test_biases_zero_norms_one_embedding_kept():
    m = _lin()
    emb = m[2].weight.detach().clone()
    with torch.no_grad():
        m[1].weight.normal_(3.0, 0.1)          # not constant: the scheme sets norms to 1 / 0
        m[1].bias.normal_(2.0, 0.1)
    rep = apply_init(m, "kaiming_uniform", seed=0)
    assert torch.count_nonzero(m[0].bias) == 0
    assert torch.all(m[1].weight == 1) and torch.all(m[1].bias == 0)
    assert torch.equal(m[2].weight, emb)
    assert rep["params"]["0.bias"]["action"] == "zeros"
    assert rep["params"]["1.weight"]["action"] == "ones"
    assert rep["params"]["2.weight"]["action"] == "kept"
    # constant norm parameters are the architecture's choice: kept unless keep_constants=False
    for keep in (True, False):
        m = _lin()
        with torch.no_grad():
            m[1].weight.fill_(3.0)
            m[1].bias.fill_(2.0)
        rep = apply_init(m, "kaiming_uniform", seed=0, keep_constants=keep)
        assert torch.all(m[1].weight == (3.0 if keep else 1.0)) and torch.all(m[1].bias == (2.0 if keep else 0.0))
        assert rep["params"]["1.weight"]["action"] == ("kept constant" if keep else "ones")


def test_deterministic_and_global_rng_untouched():
    a, b, c = _lin(), _lin(), _lin()
    torch.manual_seed(123)
    state = torch.get_rng_state()
    apply_init(a, "kaiming_normal", seed=5)
    assert torch.equal(state, torch.get_rng_state())
    apply_init(b, "kaiming_normal", seed=5)
    apply_init(c, "kaiming_normal", seed=6)
    assert torch.equal(a[0].weight, b[0].weight)
    assert not torch.equal(a[0].weight, c[0].weight)


def test_mha_blocks_and_conv_fans():
    e = 64
    m = nn.ModuleDict({"mha": nn.MultiheadAttention(e, 4), "conv": nn.Conv2d(16, 32, 3),
                       "dw": nn.Conv2d(32, 32, 5, groups=32)})
    apply_init(m, "xavier_normal", seed=0)
    w = m["mha"].in_proj_weight.detach().double()
    for i in range(3):   # each q/k/v block is an (E, E) map: Var = 2/(E+E)
        assert w[i * e:(i + 1) * e].var().item() == pytest.approx(1 / e, rel=0.08)
    assert torch.count_nonzero(m["mha"].in_proj_bias) == 0
    apply_init(m, "kaiming_normal", seed=0)
    assert m["conv"].weight.double().var().item() == pytest.approx(2 / (16 * 9), rel=0.06)
    # depthwise: torch fan_in = 1 * 5 * 5
    assert m["dw"].weight.double().var().item() == pytest.approx(2 / 25, rel=0.15)


def test_unknown_scheme_and_missing_inputs():
    with pytest.raises(ParamstatError):
        apply_init(_lin(), "glorious")
    with pytest.raises(ParamstatError):
        apply_init(_lin(), "native")
    with pytest.raises(ParamstatError):
        apply_init(_lin(), "lsuv")


def test_default_is_noop():
    m = _lin()
    before = {k: v.clone() for k, v in m.state_dict().items()}
    apply_init(m, "default")
    assert all(torch.equal(before[k], v) for k, v in m.state_dict().items())
