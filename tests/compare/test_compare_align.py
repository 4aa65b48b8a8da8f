"""compare's matching beyond equal names: a TorchScript export against an ONNX export of another
implementation of the same net (paired by position and shape, off with --by-name), silero-vad's
'_model.' / 'If_0_then_branch__Inline_0__' prefixes (two sub-nets stored in the opposite order, so
position alone would pair them wrong), and names in common whose shapes all differ (MTCNN P-Net vs R-Net).
Oracles: the tensors the test copied (torch.equal), hand-built name tables, facenet-pytorch's own shapes."""
from __future__ import annotations

import importlib.util
import json

import pytest
import torch
import torch.nn as nn

from paramstat.cli import main
from paramstat.compare import compare
from paramstat.compare.relation import DIFFERENT_ARCH, IDENTICAL
from paramstat.sources.align import same_shapes_in_order


class Named(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv1d(4, 8, 3)
        self.conv2 = nn.Conv1d(8, 8, 3)
        self.fc = nn.Linear(8 * 12, 5)

    def forward(self, x):
        return self.fc(torch.relu(self.conv2(torch.relu(self.conv1(x)))).flatten(1))


def _seq() -> nn.Sequential:
    return nn.Sequential(nn.Conv1d(4, 8, 3), nn.ReLU(), nn.Conv1d(8, 8, 3), nn.ReLU(), nn.Flatten(),
                         nn.Linear(8 * 12, 5))


@pytest.fixture(scope="module")
def jit_onnx(tmp_path_factory):
    """The same weights as TorchScript (keys conv1/conv2/fc) and as ONNX of an nn.Sequential (keys 0/2/5)."""
    d = tmp_path_factory.mktemp("jit_onnx")
    torch.manual_seed(0)
    a = Named().eval()
    b = _seq().eval()
    with torch.no_grad():
        for pb, pa in zip(b.parameters(), a.parameters()):
            pb.copy_(pa)
    x = torch.randn(1, 4, 16)
    assert torch.equal(a(x), b(x))
    torch.jit.trace(a, x).save(str(d / "a.jit"))
    torch.onnx.export(b, (x,), str(d / "b.onnx"), dynamo=False, do_constant_folding=False)
    return str(d / "a.jit"), str(d / "b.onnx"), a, b


def test_jit_vs_onnx_paired_by_position(jit_onnx):
    pa, pb, a, b = jit_onnx
    res = compare(pa, pb, progress=False, deep="none")
    assert res.relation == IDENTICAL and res.complete
    assert res.paired_by_position == 6 and len(res.tensors) == 6
    assert "names differ: 6 tensors paired by position and shape (--by-name: by name only)" in res.warnings
    sa, sb = a.state_dict(), b.state_dict()
    want = dict(zip(sa, sb))  # conv1.weight -> 0.weight ... in module order
    assert {t.name: t.name_b for t in res.tensors} == want
    for t in res.tensors:
        assert torch.equal(sa[t.name], sb[t.name_b]) and t.bit_identical
    assert res.params_compared == sum(p.numel() for p in a.parameters()) == (4 * 3 + 1) * 8 + (8 * 3 + 1) * 8 + 97 * 5


def test_by_name_turns_position_off(jit_onnx, capsys):
    pa, pb, _, _ = jit_onnx
    res = compare(pa, pb, progress=False, deep="none", by_name=True)
    assert res.relation is None and res.paired_by_position == 0
    assert len(res.only_in_a) == len(res.only_in_b) == 6
    assert res.warnings[-1] == "the two checkpoints have no tensor name in common"
    assert main(["compare", pa, pb, "--by-name", "--json", "-", "--no-progress"]) == 0
    assert json.loads(capsys.readouterr().out)["paired_by_position"] == 0
    assert main(["compare", pa, pb, "--json", "-", "--no-progress"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["relation"] == "identical" and out["paired_by_position"] == 6


def _silero_like():
    """Two sub-nets (16 kHz, 8 kHz) under TorchScript names and under ONNX-inliner names, the ONNX file
    holding the 8 kHz branch first. Only the first two tensors tell the sub-nets apart by shape."""
    torch.manual_seed(1)
    shapes = {"stft.basis": None, "enc.0.weight": None, "enc.0.bias": (8,), "enc.1.weight": (8, 8, 3),
              "head.bias": (1,)}
    nets = {}
    for sub, n in (("_model.", 129), ("_model_8k.", 65)):
        for tail, s in shapes.items():
            s = s or ((2 * n, 1, 2 * n - 2) if tail == "stft.basis" else (8, n, 3))
            nets[sub + tail] = torch.randn(s)
    a = dict(nets)
    b = {}
    for sub, onnx in (("_model_8k.", "If_0_else_branch__Inline_0__"), ("_model.", "If_0_then_branch__Inline_0__")):
        for tail in shapes:
            b[onnx + tail] = nets[sub + tail].clone()
    return a, b


def test_prefix_swap_pairs_the_right_subnets():
    a, b = _silero_like()
    # by position the 16 kHz net would meet the 8 kHz one: shapes disagree in order
    assert not same_shapes_in_order([v.shape for v in a.values()], [v.shape for v in b.values()])
    res = compare(a, b, progress=False, deep="none")
    assert res.relation == IDENTICAL and len(res.tensors) == 10 and res.complete
    assert res.prefix_swapped == [{"a": "_model.", "b": "If_0_then_branch__Inline_0__", "tensors": 5},
                                  {"a": "_model_8k.", "b": "If_0_else_branch__Inline_0__", "tensors": 5}]
    assert res.paired_by_position == 0
    for t in res.tensors:
        sub = "If_0_then_branch__Inline_0__" if t.name.startswith("_model.") else "If_0_else_branch__Inline_0__"
        assert t.name_b == sub + t.name.split(".", 1)[1]
        assert torch.equal(a[t.name], b[t.name_b])
    assert any(w.startswith("names differ: 10 tensors paired by prefix") for w in res.warnings)


def test_ambiguous_prefixes_fall_back_to_position():
    """enc./dec. vs E./D. with equal shapes: either prefix fits either; no swap, position decides."""
    torch.manual_seed(2)
    a = {f"{p}.x.{k}": torch.randn(6, 6) if k == "weight" else torch.randn(6) for p in ("enc", "dec")
         for k in ("weight", "bias")}
    b = {k.replace("enc.", "E.").replace("dec.", "D."): v.clone() for k, v in a.items()}
    res = compare(a, b, progress=False, deep="none")
    assert res.prefix_swapped == [] and res.paired_by_position == 4
    assert [t.name_b for t in res.tensors] == list(b)
    assert res.relation == IDENTICAL


def test_integer_buffers_do_not_block_position():
    """num_batches_tracked on one side only (exporters drop it): the float tensors still pair."""
    torch.manual_seed(3)
    bn = nn.BatchNorm1d(4)
    with torch.no_grad():
        bn.weight.uniform_(0.5, 1.5)
    a = {("bn." + k): v for k, v in bn.state_dict().items()}
    b = {("norm_" + k): v.clone() for k, v in bn.state_dict().items() if k != "num_batches_tracked"}
    res = compare(a, b, progress=False, deep="none")
    assert res.paired_by_position == 4 and res.only_in_a == ["bn.num_batches_tracked"] and res.only_in_b == []
    assert res.relation == IDENTICAL


def test_common_names_all_other_shapes_is_different_architectures():
    torch.manual_seed(4)
    a = {"conv1.weight": torch.randn(10, 3, 3, 3), "conv1.bias": torch.randn(10), "conv4.weight": torch.randn(4, 32)}
    b = {"conv1.weight": torch.randn(28, 3, 3, 3), "conv1.bias": torch.randn(28), "dense5.weight": torch.randn(2, 128)}
    res = compare(a, b, progress=False, deep="none")
    assert res.relation == DIFFERENT_ARCH and res.tensors == []
    assert res.relation_detail == "2 of 2 tensors matched by name differ in shape"
    assert not any("no tensor name in common" in w for w in res.warnings)
    assert ("2 tensor name(s) in common, every one with another shape (e.g. conv1.weight [10, 3, 3, 3] vs "
            "[28, 3, 3, 3]): different architectures") in res.warnings


@pytest.mark.skipif(importlib.util.find_spec("facenet_pytorch") is None,
                    reason="pip install --no-deps facenet-pytorch==2.6.0")
def test_mtcnn_pnet_vs_rnet():
    from paramstat.sources.remote.pypi import resolve

    # the shipped files themselves (the package is installed --no-deps: its code is never imported)
    res = compare("pypi:facenet-pytorch/pnet", "pypi:facenet-pytorch/rnet", progress=False, deep="none")
    p = torch.load(resolve("pypi:facenet-pytorch/pnet")[0], weights_only=True)
    r = torch.load(resolve("pypi:facenet-pytorch/rnet")[0], weights_only=True)
    common = [k for k in p if k in r]
    assert len(common) == 9 and all(p[k].shape != r[k].shape for k in common)
    assert {d["name"] for d in res.shape_mismatch} == set(common)
    assert len(res.only_in_a) == 4 and len(res.only_in_b) == 7
    assert res.relation == DIFFERENT_ARCH
    assert res.relation_detail == "9 of 9 tensors matched by name differ in shape"
    assert any(w.startswith("9 tensor name(s) in common, every one with another shape (e.g. conv1.weight "
                            "[10, 3, 3, 3] vs [28, 3, 3, 3])") for w in res.warnings)
    assert not any("no tensor name in common" in w for w in res.warnings)
