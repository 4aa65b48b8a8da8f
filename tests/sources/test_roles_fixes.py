"""Role decisions fixed in issue 11, each against the library's own code:

- RNN/LSTM/GRU (and cells): torch's ``RNNBase.reset_parameters`` draws every weight and bias from
  U(+-1/sqrt(hidden_size)); every reader must hand over hidden_size (live module, names/shapes,
  TorchScript, ONNX; Keras in test_sources_keras).
- nn.Embedding named without 'embed' ('tok', 'emb2') was 'linear' from names and shapes.
- LeViT's attention 'attn.qkv.linear.weight' (timm levit_128s) missed the fused-qkv regex.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

import paramstat
from paramstat.init.layers import checkpoint_entries
from paramstat.sources.roles import is_attn_in


class _Rnns(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(40, 12, num_layers=2, bidirectional=True)
        self.lstm = nn.LSTM(24, 20, proj_size=6)
        self.rnn = nn.RNN(6, 30)
        self.cell = nn.GRUCell(30, 9)

    def forward(self, x):
        y, _ = self.gru(x)
        y, _ = self.lstm(y)
        y, _ = self.rnn(y)
        return self.cell(y[0])


HIDDEN = {"gru": 12, "lstm": 20, "rnn": 30, "cell": 9}


def _check(ck, mod):
    seen = 0
    for r in ck.records:
        top = r.name.split(".")[0]
        if top not in HIDDEN:
            continue
        seen += 1
        h = HIDDEN[top]
        assert r.hidden_size == h, r.name
        v = np.abs(r.values())
        bound = 1 / math.sqrt(h)              # RNNBase.reset_parameters: U(-1/sqrt(hidden), 1/sqrt(hidden))
        assert v.max() <= bound + 1e-7 and v.max() > 0.8 * bound, r.name
        assert r.meta()["hidden_size"] == h
    assert seen == len([n for n, _ in mod.named_parameters()])


@pytest.fixture(scope="module")
def rnns():
    torch.manual_seed(0)
    return _Rnns().eval()


def test_rnn_hidden_size_live_module(rnns):
    _check(paramstat.load(rnns), rnns)


def test_rnn_hidden_size_from_names_and_shapes(rnns, tmp_path):
    torch.save(rnns.state_dict(), tmp_path / "r.pt")
    ck = paramstat.load(str(tmp_path / "r.pt"))
    _check(ck, rnns)
    assert ck["lstm.bias_ih_l0"].fan_in == 24   # the fans stay those of weight_ih (input_size), as before


def test_rnn_hidden_size_torchscript(rnns, tmp_path):
    torch.jit.save(torch.jit.script(rnns), str(tmp_path / "r.jit"))
    _check(paramstat.load(str(tmp_path / "r.jit")), rnns)


def test_rnn_hidden_size_onnx(tmp_path):
    pytest.importorskip("onnx")
    torch.manual_seed(0)
    m = nn.Sequential()
    lstm = nn.LSTM(16, 7)
    gru = nn.GRU(16, 5)

    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm, self.gru = lstm, gru

        def forward(self, x):
            return self.lstm(x)[0].sum() + self.gru(x)[0].sum()
    m = Two().eval()
    p = tmp_path / "r.onnx"
    torch.onnx.export(m, (torch.randn(3, 2, 16),), str(p), dynamo=False)
    ck = paramstat.load(str(p))
    rnn = [r for r in ck.records if r.module_type in ("LSTM", "GRU")]
    assert rnn and {r.module_type: r.hidden_size for r in rnn} == {"LSTM": 7, "GRU": 5}
    for r in rnn:
        assert np.abs(r.values()).max() <= 1 / math.sqrt(r.hidden_size) + 1e-7


def test_non_rnn_records_have_no_hidden_size(tmp_path):
    m = nn.Sequential(nn.Linear(4, 3), nn.LayerNorm(3))
    ck = paramstat.load(m)
    assert all(r.hidden_size is None and "hidden_size" not in r.meta() for r in ck.records)


def test_embedding_without_embed_in_name(tmp_path):
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok = nn.Embedding(50, 16)
            self.emb2 = nn.Embedding(30, 16)
            self.head = nn.Linear(16, 50)
    m = M()
    roles_live = {r.name: r.role for r in paramstat.load(m).records}   # the oracle: the module types
    torch.save(m.state_dict(), tmp_path / "m.pt")
    ck = paramstat.load(str(tmp_path / "m.pt"))
    assert {r.name: r.role for r in ck.records} == roles_live
    assert roles_live["tok.weight"] == roles_live["emb2.weight"] == "embedding"
    fine = {e.name: e.role for e in checkpoint_entries(ck)}
    assert fine["tok.weight"] == fine["emb2.weight"] == "embedding" and fine["head.weight"] == "linear"


def test_levit_fused_qkv_is_attention():
    timm = pytest.importorskip("timm")
    with torch.device("meta"):
        m = timm.create_model("levit_128s", pretrained=False)
    names = [n for n, _ in m.named_parameters() if n.endswith("attn.qkv.linear.weight")]
    assert names
    roles = {n: i.role for n, i in paramstat.sources.role_map(m).items()}
    assert {roles[n] for n in names} == {"attn_in_proj"}
    assert is_attn_in("stages.0.blocks.0.attn.qkv.linear.weight")
    assert not is_attn_in("stages.0.blocks.0.attn.proj.1.linear.weight")
