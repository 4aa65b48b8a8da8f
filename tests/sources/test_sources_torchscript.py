"""TorchScript archives read without running code (oracle: torch.jit.load(p).state_dict(), bit-exact),
the malicious data.pkl refusal, and torch_source's 'not a PyTorch checkpoint' vs safety refusal."""
from __future__ import annotations

import os
import pickle
import warnings
import zipfile

import pytest
import torch
import torch.nn as nn

from paramstat.errors import ParamstatError, UnsafePickleError
from paramstat.sources import load
from paramstat.sources.readers.torch_pickle import torch_load
from paramstat.sources.readers.torchscript import read_torchscript


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.dw = nn.Conv2d(8, 8, 3, groups=8)
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        return self.fc(self.dw(torch.relu(self.bn(self.conv(x)))).mean((2, 3)))


class WithBuffer(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("scale", torch.arange(3.0))
        self.register_buffer("scratch", torch.ones(2), persistent=False)
        self.steps = 7                       # a non-tensor attribute
        self.cache = torch.full((2,), 5.0)   # a plain tensor attribute: not in state_dict
        self.lin = nn.Linear(3, 2)

    def forward(self, x):
        return self.lin(x * self.scale) + self.steps


class Stack(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList([nn.Linear(4, 4) for _ in range(3)])
        self.norm = nn.LayerNorm(4)

    def forward(self, x):
        for b in self.blocks:
            x = b(x)
        return self.norm(x)


def _save(module, path, trace_input=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sm = torch.jit.trace(module, trace_input) if trace_input is not None else torch.jit.script(module)
        torch.jit.save(sm, str(path))
    return path


def _oracle(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.jit.load(str(path)).state_dict()


def _assert_same(sd, ref):
    assert list(sd) == list(ref)
    for k in ref:
        assert sd[k].dtype == ref[k].dtype and sd[k].shape == ref[k].shape, k
        a, b = sd[k].contiguous(), ref[k].contiguous()
        if a.is_floating_point():   # bit-exact: compare the raw bits
            bits = {2: torch.int16, 4: torch.int32, 8: torch.int64}[a.element_size()]
            a, b = a.view(bits), b.view(bits)
        assert torch.equal(a, b), k


def _cases():
    torch.manual_seed(0)
    cnn = CNN()
    with torch.no_grad():
        cnn.bn.running_mean.uniform_(-1, 1)
        cnn.bn.running_var.uniform_(0.5, 2)
    return {
        "cnn_bn": (cnn, None),
        "lstm": (nn.LSTM(4, 5, num_layers=2, bidirectional=True), None),
        "buffer_attr": (WithBuffer(), None),
        "modulelist_traced": (Stack(), torch.randn(2, 4)),
        "cnn_fp16": (CNN().half(), None),
        "stack_bf16": (Stack().to(torch.bfloat16), None),
    }


@pytest.mark.parametrize("name", list(_cases()))
def test_safe_reader_equals_jit_load(tmp_path, name):
    module, example = _cases()[name]
    p = _save(module.eval(), tmp_path / f"{name}.pt", example)
    sd, _roles = read_torchscript(p)
    ref = _oracle(p)
    _assert_same(sd, ref)
    if name == "buffer_attr":   # non-persistent buffers survive TorchScript; plain attributes do not
        assert list(ref) == ["scale", "scratch", "lin.weight", "lin.bias"]
    if name == "lstm":
        assert len(ref) == 16 and "lstm" not in ref and "weight_hh_l1_reverse" in ref
    if name == "stack_bf16":
        assert sd["blocks.2.weight"].dtype == torch.bfloat16


def test_load_roles_and_extensions(tmp_path):
    torch.manual_seed(1)
    p = _save(CNN().eval(), tmp_path / "cnn.jit")
    ck = load(str(p))
    assert ck.format == "torchscript"
    got = {r.name: (r.role, r.fan_in, r.fan_out, r.groups, r.module_type) for r in ck.records}
    assert got["conv.weight"] == ("conv", 27, 72, 1, "Conv2d")        # 3*3*3, 8*3*3
    assert got["dw.weight"] == ("dwconv", 9, 72, 8, "Conv2d")         # groups == in_channels
    assert got["dw.bias"] == ("bias", 9, 72, 8, "Conv2d")
    assert got["bn.weight"][0] == "norm_weight" and got["bn.running_var"][0] == "running_stat"
    assert got["fc.weight"] == ("linear", 8, 4, None, "Linear")
    ref = _oracle(p)
    assert (ck["fc.weight"].values() == ref["fc.weight"].numpy()).all()
    # a .pt name and an unknown extension (sniffed) give the same tensors
    for other in ("cnn.pt", "cnn.model"):
        q = tmp_path / other
        q.write_bytes(p.read_bytes())
        ck2 = load(str(q))
        assert ck2.format == "torchscript" and ck2.names() == ck.names()
    # --trust-pickle still goes through torch.jit.load
    assert load(str(p), trust_pickle=True).names() == list(ref)


def _rewrite(src, dst, replace: dict):
    with zipfile.ZipFile(src) as zi, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zo:
        for info in zi.infolist():
            name = info.filename
            if name.endswith(tuple(replace)):
                data = replace[next(k for k in replace if name.endswith(k))]
                if data is None:
                    continue
            else:
                data = zi.read(info)
            zo.writestr(name, data)


class _Evil:
    def __init__(self, fn, arg):
        self.fn, self.arg = fn, arg

    def __reduce__(self):
        return self.fn, (self.arg,)


@pytest.mark.parametrize("kind", ["os.system", "builtins.eval"])
def test_malicious_data_pkl_refused_and_nothing_runs(tmp_path, kind):
    good = _save(nn.Linear(3, 2), tmp_path / "good.pt")
    marker = tmp_path / "PWNED"
    if kind == "os.system":
        payload = pickle.dumps(_Evil(os.system, f"touch {marker}"), protocol=2)
    else:
        payload = pickle.dumps(_Evil(eval, f"open({str(marker)!r}, 'w').close()"), protocol=2)
    assert kind.split(".")[1].encode() in payload
    bad = tmp_path / "bad.pt"
    _rewrite(good, bad, {"/data.pkl": payload})
    for fn in (lambda: read_torchscript(bad), lambda: load(str(bad)), lambda: torch_load(bad)):
        with pytest.raises(ParamstatError) as ei:
            fn()
        msg = str(ei.value)
        assert "refused" in msg and "is not allowed" in msg and "--trust-pickle" in msg and "\n" not in msg
    assert not marker.exists()


def test_unreadable_archive_is_one_clear_line(tmp_path):
    good = _save(Stack(), tmp_path / "good.pt")
    bad = tmp_path / "nocode.pt"
    with zipfile.ZipFile(good) as z:   # the file that defines class Stack
        member = next(n for n in z.namelist() if n.endswith(".py") and b"class Stack(" in z.read(n))
    _rewrite(good, bad, {member: None})
    with pytest.raises(ParamstatError) as ei:
        load(str(bad))
    msg = str(ei.value)
    assert "TorchScript source for" in msg and "missing" in msg and "--trust-pickle" in msg and "\n" not in msg


@pytest.mark.parametrize("content", [b"this is not a pickle at all" * 10, bytes(range(7, 200)) * 3,
                                     b"<html><body>404 Not Found</body></html>"])
def test_non_pickle_says_not_a_checkpoint(tmp_path, content):
    p = tmp_path / "x.pth"
    p.write_bytes(content)
    with pytest.raises(ParamstatError) as ei:
        load(str(p))
    assert not isinstance(ei.value, UnsafePickleError)
    msg = str(ei.value)
    assert "not a PyTorch checkpoint" in msg and "--trust-pickle" not in msg
    # what the bytes look like, never the bytes (the file may be a shard the user did not name)
    assert any(w in msg for w in ("plain text", "binary data", "HTML/XML")), msg
    assert repr(content[:16]) not in msg and content[:12].decode("latin1") not in msg


@pytest.mark.parametrize("protocol", [0, 2])
def test_pickle_needing_code_is_still_a_safety_refusal(tmp_path, protocol):
    marker = tmp_path / "PWNED"
    p = tmp_path / "x.pth"
    p.write_bytes(pickle.dumps(_Evil(os.system, f"touch {marker}"), protocol=protocol))
    with pytest.raises(UnsafePickleError) as ei:
        load(str(p))
    assert "arbitrary code" in str(ei.value) and "--trust-pickle" in str(ei.value)
    assert not marker.exists()
