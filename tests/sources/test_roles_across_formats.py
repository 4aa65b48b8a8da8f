"""One role decision across formats: the same small torch models saved as a state_dict .pth, TorchScript
(torch.jit.script) and ONNX (torch.onnx.export, dynamo=False), and the image model's layers in a hand-built
Keras legacy h5, give the same roles and fans. Oracle: the live module's roles (paramstat.sources.roles,
checked against torch's own fan formula in test_sources_roles) and hand-computed fans."""
from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import paramstat


class Stft(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("basis", torch.randn(6, 1, 8))

    def forward(self, x):
        return F.conv1d(x, self.basis, None, 4)


class Audio(nn.Module):
    """silero-vad in small: a conv, then a fixed STFT basis buffer fed to F.conv1d (groups 1 although
    in/groups == 1, the shape of a depthwise weight), a conv, an LSTM and a 1x1 conv head."""

    def __init__(self):
        super().__init__()
        self.pre = nn.Conv1d(1, 1, 3, padding=1)
        self.stft = Stft()
        self.conv = nn.Conv1d(6, 4, 3)
        self.rnn = nn.LSTM(4, 5)
        self.head = nn.Conv1d(5, 1, 1)

    def forward(self, x):
        y = self.stft(self.pre(x))
        y = torch.relu(self.conv(y))
        h, _ = self.rnn(y.permute(2, 0, 1))
        return self.head(h.permute(1, 2, 0))


def _image():
    return nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 8, 3, groups=8),
                         nn.Conv2d(8, 16, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10)).eval()


def _saved(m, x, tmp_path, stem):
    pth, ts, ox = tmp_path / f"{stem}.pth", tmp_path / f"{stem}.jit", tmp_path / f"{stem}.onnx"
    torch.save(m.state_dict(), pth)
    torch.jit.save(torch.jit.script(m), str(ts))
    torch.onnx.export(m, (x,), str(ox), dynamo=False, do_constant_folding=False,
                      training=torch.onnx.TrainingMode.PRESERVE)
    return {f: paramstat.load(str(p)) for f, p in (("pth", pth), ("jit", ts), ("onnx", ox))}


def _rows(ck, names):
    return {n: (ck[n].role, ck[n].fan_in, ck[n].fan_out, ck[n].groups) for n in names}


def test_image_model_roles_agree(tmp_path):
    torch.manual_seed(0)
    m = _image()
    cks = _saved(m, torch.randn(1, 3, 9, 9), tmp_path, "img")
    want = {  # hand-computed: fan_in = in/groups*k*k, fan_out = out*k*k (torch)
        "0.weight": ("conv", 27, 72, 1), "0.bias": ("bias", 27, 72, 1),
        "1.weight": ("norm_weight", None, None, None), "1.bias": ("norm_bias", None, None, None),
        "3.weight": ("dwconv", 9, 72, 8), "4.weight": ("conv", 8, 16, 1),
        "7.weight": ("linear", 16, 10, None),
    }
    live = paramstat.load(m)
    assert {n: v for n, v in _rows(live, want).items()} == want
    for fmt, ck in cks.items():
        got = _rows(ck, want)
        # ONNX and TorchScript readers know the layer (groups recorded); a bare state dict infers it
        assert got == want, fmt
    # the Keras layout of the same layers (kernels (kh, kw, in, out), depthwise (kh, kw, C, 1), dense (in, out))
    sd = {k: v.detach().numpy() for k, v in m.state_dict().items()}
    layers = [
        ("conv2d", [("conv2d/kernel:0", sd["0.weight"].transpose(2, 3, 1, 0)), ("conv2d/bias:0", sd["0.bias"])]),
        ("batch_normalization", [("batch_normalization/gamma:0", sd["1.weight"]),
                                 ("batch_normalization/beta:0", sd["1.bias"]),
                                 ("batch_normalization/moving_mean:0", sd["1.running_mean"]),
                                 ("batch_normalization/moving_variance:0", sd["1.running_var"])]),
        ("depthwise_conv2d", [("depthwise_conv2d/depthwise_kernel:0", sd["3.weight"].transpose(2, 3, 0, 1)),
                              ("depthwise_conv2d/bias:0", sd["3.bias"])]),
        ("conv2d_1", [("conv2d_1/kernel:0", sd["4.weight"].transpose(2, 3, 1, 0)), ("conv2d_1/bias:0", sd["4.bias"])]),
        ("dense", [("dense/kernel:0", sd["7.weight"].T), ("dense/bias:0", sd["7.bias"])]),
    ]
    p = tmp_path / "img.h5"
    _write_keras(p, layers, ["Conv2D", "BatchNormalization", "DepthwiseConv2D", "Conv2D", "Dense"])
    ck = paramstat.load(str(p))
    keras_names = {"0.weight": "conv2d.kernel", "0.bias": "conv2d.bias", "1.weight": "batch_normalization.gamma",
                   "1.bias": "batch_normalization.beta", "3.weight": "depthwise_conv2d.depthwise_kernel",
                   "4.weight": "conv2d_1.kernel", "7.weight": "dense.kernel"}
    got = {t: (ck[k].role, ck[k].fan_in, ck[k].fan_out, ck[k].groups) for t, k in keras_names.items()}
    assert got == want
    assert np.array_equal(ck["depthwise_conv2d.depthwise_kernel"].read(), sd["3.weight"])


def test_audio_model_roles_agree(tmp_path):
    """The STFT-like basis (6, 1, 8) used with groups 1 is a conv in TorchScript (groups read from the
    F.conv1d call in the archive's code) as in ONNX (the Conv node); a bare state dict cannot know and
    infers a depthwise conv after another conv. LSTM biases are biases with their weight's fans."""
    torch.manual_seed(0)
    m = Audio().eval()
    cks = _saved(m, torch.randn(2, 1, 64), tmp_path, "audio")
    basis = {"stft.basis": ("conv", 8, 48, 1)}
    want = {"conv.weight": ("conv", 18, 12, 1), "head.weight": ("conv", 5, 1, 1), "head.bias": ("bias", 5, 1, 1)}
    rnn = {"rnn.weight_ih_l0": ("linear", 4, 20, None), "rnn.weight_hh_l0": ("linear", 5, 20, None),
           "rnn.bias_ih_l0": ("bias", 4, 20, None), "rnn.bias_hh_l0": ("bias", 5, 20, None)}
    assert _rows(paramstat.load(m), rnn) == rnn
    assert _rows(cks["pth"], want | rnn) == want | rnn
    assert _rows(cks["pth"], basis) == {"stft.basis": ("dwconv", 8, 48, 6)}
    assert _rows(cks["jit"], want | rnn | basis) == want | rnn | basis
    # without constant folding the exporter keeps torch's LSTM tensors (gates reordered by graph ops)
    assert _rows(cks["onnx"], want | rnn | basis) == want | rnn | basis


def test_torchscript_functional_dwconv_groups(tmp_path):
    """A buffer fed to F.conv1d with groups == channels is a dwconv with those groups in TorchScript as in ONNX."""

    class DW(nn.Module):
        def __init__(self):
            super().__init__()
            self.pre = nn.Conv1d(1, 4, 3)
            self.register_buffer("kern", torch.randn(4, 1, 5))

        def forward(self, x):
            return F.conv1d(self.pre(x), self.kern, None, 1, 0, 1, 4)

    cks = _saved(DW().eval(), torch.randn(1, 1, 32), tmp_path, "dw")
    for fmt in ("jit", "onnx"):
        assert _rows(cks[fmt], ["kern"])["kern"] == ("dwconv", 5, 20, 4), fmt


def _write_keras(path, layers, classes):
    def blist(xs):
        return np.array([x.encode() for x in xs])

    cfg = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": c, "config": {"name": n}} for c, (n, _) in zip(classes, layers)]}}
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = "2.9.0"
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = json.dumps(cfg)
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = blist([n for n, _ in layers])
        for n, ws in layers:
            lg = g.create_group(n)
            lg.attrs["weight_names"] = blist([w for w, _ in ws])
            for w, a in ws:
                lg.create_dataset(w, data=np.ascontiguousarray(a))


def test_fit_keras_bn_beta_is_norm_bias(tmp_path):
    """`paramstat fit` takes the Keras reader's roles: BN beta -> bn_bias (BatchNorm's norm_bias), gamma ->
    bn_weight, Dense/Conv bias -> bias; nothing lands in norm_weight."""
    from paramstat.init.profile import fit_profile

    rng = np.random.default_rng(1)
    layers, classes = [], []
    for i in range(3):
        c, b = f"conv2d_{i}", f"batch_normalization_{i}"
        layers.append((c, [(f"{c}/kernel:0", rng.standard_normal((3, 3, 8, 8)).astype(np.float32)),
                           (f"{c}/bias:0", rng.standard_normal(8).astype(np.float32))]))
        layers.append((b, [(f"{b}/gamma:0", 1 + 0.1 * rng.standard_normal(16).astype(np.float32)),
                           (f"{b}/beta:0", rng.standard_normal(16).astype(np.float32)),
                           (f"{b}/moving_mean:0", np.zeros(16, np.float32)),
                           (f"{b}/moving_variance:0", np.ones(16, np.float32))]))
        classes += ["Conv2D", "BatchNormalization"]
    p = tmp_path / "k.h5"
    _write_keras(p, layers, classes)
    prof = fit_profile([str(p)])
    names = {r: {t["name"] for t in e["tensors"]} for r, e in prof["roles"].items()}
    assert names["bn_bias"] == {f"batch_normalization_{i}.beta" for i in range(3)}
    assert names["bn_weight"] == {f"batch_normalization_{i}.gamma" for i in range(3)}
    assert names["bias"] == {f"conv2d_{i}.bias" for i in range(3)}
    assert "norm_weight" not in names and "norm_bias" not in names
    t = {x["name"]: x for x in prof["roles"]["conv"]["tensors"]}
    assert (t["conv2d_0.kernel"]["fan_in"], t["conv2d_0.kernel"]["kernel"]) == (72, 3)
    # the std the fit stores is the tensor's own
    beta = layers[1][1][1][1]
    got = {x["name"]: x["scale"] for x in prof["roles"]["bn_bias"]["tensors"]}["batch_normalization_0.beta"]
    assert got == pytest.approx(float(beta.astype(np.float64).std()), rel=1e-5)
