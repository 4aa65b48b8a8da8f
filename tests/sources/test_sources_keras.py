"""Keras readers: legacy HDF5 (full model / weights only), Keras 3 .weights.h5 and .keras zips, built by
hand with h5py in the layouts that keras 3.15 (torch backend) and a real Keras 2.9 / TF save write.
Oracles: the source arrays transposed by explicit index loops (not by the reader's code), hand-computed fans."""
from __future__ import annotations

import importlib.util
import io
import json
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

import paramstat
from paramstat.sources.readers.keras.reader import LAYOUT_WARNING

RNG = np.random.default_rng(0)


def _a(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def _conv_oracle(k):
    """Keras (*k, in, out) -> (out, in, *k) by loops over the flat kernel positions."""
    ks, cin, cout = k.shape[:-2], k.shape[-2], k.shape[-1]
    out = np.empty((cout, cin) + ks, k.dtype)
    for pos in np.ndindex(*ks):
        for i in range(cin):
            for o in range(cout):
                out[(o, i) + pos] = k[pos + (i, o)]
    return out


def _dw_oracle(k):
    """Keras depthwise (*k, in, mult) -> PyTorch (in*mult, 1, *k): output channel c*mult + m."""
    ks, cin, mult = k.shape[:-2], k.shape[-2], k.shape[-1]
    out = np.empty((cin * mult, 1) + ks, k.dtype)
    for pos in np.ndindex(*ks):
        for c in range(cin):
            for m in range(mult):
                out[(c * mult + m, 0) + pos] = k[pos + (c, m)]
    return out


def _bytes_list(names):
    return np.array([n.encode("utf8") for n in names])


def _write_layers(g, layers):
    """Keras 2 save_weights_to_hdf5_group: layer_names, per layer weight_names, datasets at layer/weight_name."""
    g.attrs["layer_names"] = _bytes_list([name for name, _ in layers])
    for name, weights in layers:
        lg = g.create_group(name)
        lg.attrs["weight_names"] = _bytes_list([w for w, _ in weights])
        for w, arr in weights:
            lg.create_dataset(w, data=arr)


def _cfg(cls, name, **kw):
    return {"class_name": cls, "config": {"name": name, **kw}}


# ---------------------------------------------------------------------------------------------- legacy

@pytest.fixture
def legacy_model(tmp_path):
    w = {
        "conv2d/kernel:0": _a(3, 3, 3, 4), "conv2d/bias:0": _a(4),
        "batch_normalization/gamma:0": _a(4), "batch_normalization/beta:0": _a(4),
        "batch_normalization/moving_mean:0": _a(4), "batch_normalization/moving_variance:0": _a(4) ** 2,
        "depthwise_conv2d/depthwise_kernel:0": _a(3, 3, 4, 2), "depthwise_conv2d/bias:0": _a(8),
        "conv2d_transpose/kernel:0": _a(2, 2, 3, 8), "conv2d_transpose/bias:0": _a(3),
        "dense/kernel:0": _a(5, 6), "dense/bias:0": _a(6),
        "dense_3/kernel:0": _a(6, 2), "dense_3/bias:0": _a(2),
    }
    layers = [("conv2d", ["conv2d/kernel:0", "conv2d/bias:0"]),
              ("batch_normalization", [k for k in w if k.startswith("batch_normalization/")]),
              ("max_pooling2d", []),
              ("depthwise_conv2d", ["depthwise_conv2d/depthwise_kernel:0", "depthwise_conv2d/bias:0"]),
              ("conv2d_transpose", ["conv2d_transpose/kernel:0", "conv2d_transpose/bias:0"]),
              ("dense", ["dense/kernel:0", "dense/bias:0"]),
              ("model_1", ["dense_3/kernel:0", "dense_3/bias:0"])]   # a nested model
    config = _cfg("Sequential", "sequential", layers=[
        _cfg("InputLayer", "conv2d_input"), _cfg("Conv2D", "conv2d"), _cfg("BatchNormalization", "batch_normalization"),
        _cfg("MaxPooling2D", "max_pooling2d"), _cfg("DepthwiseConv2D", "depthwise_conv2d"),
        _cfg("Conv2DTranspose", "conv2d_transpose"), _cfg("Dense", "dense"),
        _cfg("Functional", "model_1", layers=[_cfg("InputLayer", "input_2"), _cfg("Dense", "dense_3")])])
    p = tmp_path / "model.h5"
    with h5py.File(p, "w") as f:
        f.attrs["keras_version"] = "2.9.0"
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = json.dumps(config)
        mw = f.create_group("model_weights")
        _write_layers(mw, [(n, [(k, w[k]) for k in ks]) for n, ks in layers])
        og = f.create_group("optimizer_weights")
        names = ["Adam/iter:0"] + [f"Adam/{k[:-2]}/{mv}:0" for mv in "mv" for k in w if "moving" not in k]
        og.attrs["weight_names"] = _bytes_list(names)
        for n in names:
            og.create_dataset(n, data=np.zeros(() if "iter" in n else (3,), np.float32))
    return p, w, len(names)


def test_legacy_full_model(legacy_model):
    p, w, n_opt = legacy_model
    ck = paramstat.load(str(p))
    assert ck.format == "keras-h5"
    assert ck.names() == [
        "conv2d.kernel", "conv2d.bias", "batch_normalization.gamma", "batch_normalization.beta",
        "batch_normalization.moving_mean", "batch_normalization.moving_variance",
        "depthwise_conv2d.depthwise_kernel", "depthwise_conv2d.bias", "conv2d_transpose.kernel",
        "conv2d_transpose.bias", "dense.kernel", "dense.bias", "model_1.dense_3.kernel", "model_1.dense_3.bias"]
    assert ck["conv2d.kernel"].stored_name == "model_weights/conv2d/conv2d/kernel:0"
    assert ck["model_1.dense_3.bias"].stored_name == "model_weights/model_1/dense_3/bias:0"
    oracle = {
        "conv2d.kernel": _conv_oracle(w["conv2d/kernel:0"]),
        "depthwise_conv2d.depthwise_kernel": _dw_oracle(w["depthwise_conv2d/depthwise_kernel:0"]),
        # Conv2DTranspose (kh, kw, out, in) -> PyTorch ConvTranspose (in, out, kh, kw): the same index loop
        "conv2d_transpose.kernel": _conv_oracle(w["conv2d_transpose/kernel:0"]),
        "dense.kernel": w["dense/kernel:0"].T, "model_1.dense_3.kernel": w["dense_3/kernel:0"].T,
    }
    for r in ck:
        key = r.stored_name.split("/", 2)[2]
        exp = oracle.get(r.name, w[key])
        got = r.read()
        assert got.dtype == np.float32 and got.flags.c_contiguous
        assert tuple(r.shape) == got.shape == exp.shape
        assert got.tobytes() == np.ascontiguousarray(exp).tobytes(), r.name
    expect = {  # name: (role, shape, fan_in, fan_out, groups)
        "conv2d.kernel": ("conv", (4, 3, 3, 3), 27, 36, 1),
        "conv2d.bias": ("bias", (4,), 27, 36, 1),
        "batch_normalization.gamma": ("norm_weight", (4,), None, None, None),
        "batch_normalization.beta": ("norm_bias", (4,), None, None, None),
        "batch_normalization.moving_mean": ("running_stat", (4,), None, None, None),
        "batch_normalization.moving_variance": ("running_stat", (4,), None, None, None),
        "depthwise_conv2d.depthwise_kernel": ("dwconv", (8, 1, 3, 3), 9, 72, 4),
        "depthwise_conv2d.bias": ("bias", (8,), 9, 72, 4),
        "conv2d_transpose.kernel": ("conv", (8, 3, 2, 2), 12, 32, 1),
        "dense.kernel": ("linear", (6, 5), 5, 6, None),
        "dense.bias": ("bias", (6,), 5, 6, None),
        "model_1.dense_3.kernel": ("linear", (2, 6), 6, 2, None),
    }
    for name, (role, shape, fi, fo, g) in expect.items():
        r = ck[name]
        assert (r.role, tuple(r.shape), r.fan_in, r.fan_out, r.groups) == (role, shape, fi, fo, g), name
    assert ck["conv2d_transpose.kernel"].module_type == "Conv2DTranspose"
    assert ck["model_1.dense_3.kernel"].module_type == "Dense"
    assert ck.warnings.count(LAYOUT_WARNING) == 1
    opt = [x for x in ck.warnings if "optimizer" in x]
    assert opt == [f"optimizer state skipped (not weights): {n_opt} tensor(s) of Adam under optimizer_weights/"]
    assert n_opt == 1 + 2 * 12
    assert ck.provenance["keras_version"] == "2.9.0"


def test_legacy_weights_only_names_from_layer_names(tmp_path):
    """save_weights('x.h5'): no config, so classes come from the default snake_case layer names."""
    w = {"conv2d_transpose_1/kernel:0": _a(3, 4, 2), "conv2d_transpose_1/bias:0": _a(2),   # Conv1DTranspose-like 1-D
         "embedding/embeddings:0": _a(10, 4),
         "lstm/lstm_cell/kernel:0": _a(3, 8), "lstm/lstm_cell/recurrent_kernel:0": _a(2, 8),
         "lstm/lstm_cell/bias:0": _a(8), "layer_normalization/gamma:0": _a(2), "layer_normalization/beta:0": _a(2)}
    layers = [("conv2d_transpose_1", ["conv2d_transpose_1/kernel:0", "conv2d_transpose_1/bias:0"]),
              ("embedding", ["embedding/embeddings:0"]),
              ("lstm", ["lstm/lstm_cell/kernel:0", "lstm/lstm_cell/recurrent_kernel:0", "lstm/lstm_cell/bias:0"]),
              ("layer_normalization", ["layer_normalization/gamma:0", "layer_normalization/beta:0"])]
    p = tmp_path / "w.h5"
    with h5py.File(p, "w") as f:
        f.attrs["backend"] = "tensorflow"
        f.attrs["keras_version"] = "2.9.0"
        _write_layers(f, [(n, [(k, w[k]) for k in ks]) for n, ks in layers])
    ck = paramstat.load(str(p))
    assert ck.format == "keras-h5"
    assert ck.names() == ["conv2d_transpose_1.kernel", "conv2d_transpose_1.bias", "embedding.embeddings",
                          "lstm.lstm_cell.kernel", "lstm.lstm_cell.recurrent_kernel", "lstm.lstm_cell.bias",
                          "layer_normalization.gamma", "layer_normalization.beta"]
    r = ck["conv2d_transpose_1.kernel"]
    assert (r.role, tuple(r.shape), r.fan_in, r.fan_out, r.module_type) == ("conv", (2, 4, 3), 12, 6, "Conv2DTranspose")
    assert r.read().tobytes() == _conv_oracle(w["conv2d_transpose_1/kernel:0"]).tobytes()
    r = ck["embedding.embeddings"]   # PyTorch's Embedding has the same (num, dim) layout: not transposed
    assert (r.role, tuple(r.shape), r.fan_in, r.fan_out) == ("embedding", (10, 4), 4, 10)
    assert r.read().tobytes() == w["embedding/embeddings:0"].tobytes()
    k, rk, b = ck["lstm.lstm_cell.kernel"], ck["lstm.lstm_cell.recurrent_kernel"], ck["lstm.lstm_cell.bias"]
    assert (k.role, tuple(k.shape), k.fan_in, k.fan_out) == ("linear", (8, 3), 3, 8)   # PyTorch weight_ih layout
    assert (rk.role, tuple(rk.shape), rk.fan_in, rk.fan_out) == ("linear", (8, 2), 2, 8)
    assert (b.role, b.fan_in, b.fan_out) == ("bias", 3, 8)
    assert (k.hidden_size, rk.hidden_size, b.hidden_size) == (2, 2, 2)   # recurrent_kernel (hidden, 4*hidden)
    assert ck["embedding.embeddings"].hidden_size is None
    assert rk.read().tobytes() == np.ascontiguousarray(w["lstm/lstm_cell/recurrent_kernel:0"].T).tobytes()
    assert [ck[n].role for n in ("layer_normalization.gamma", "layer_normalization.beta")] == ["norm_weight", "norm_bias"]
    assert not any("optimizer" in x for x in ck.warnings)


# ---------------------------------------------------------------------------------------------- Keras 3

def _k3_layer(g, key, name, arrays):
    v = g.create_group(f"{key}/vars")
    v.attrs["name"] = name
    for i, a in enumerate(arrays):
        v.create_dataset(str(i), data=a)


def _write_k3(f, w, order):
    """The .weights.h5 layout keras 3.15 writes (groups by snake_case class, 'vars' with the layer name)."""
    f.create_group("vars").attrs["name"] = "net"
    L = f.create_group("layers")
    for key in order:
        if key == "conv2d":
            _k3_layer(L, "conv2d", "conv", [w["conv_k"], w["conv_b"]])
        elif key == "batch_normalization":
            _k3_layer(L, "batch_normalization", "bn", [w["g"], w["mm"], w["mv"]])   # center=False: no beta
        elif key == "sequential":
            L.create_group("sequential/vars").attrs["name"] = "inner"
            _k3_layer(L, "sequential/layers/dense", "inner_dense", [w["in_k"], w["in_b"]])
        elif key == "lstm":
            L.create_group("lstm/vars").attrs["name"] = "lstm"
            _k3_layer(L, "lstm/cell", "lstm_cell", [w["l_k"], w["l_rk"], w["l_b"]])
        elif key == "dense":
            _k3_layer(L, "dense", "head", [w["head_k"]])   # use_bias=False
    o = f.create_group("optimizer/vars")
    o.attrs["name"] = "adam"
    for i in range(7):
        o.create_dataset(str(i), data=np.zeros((2,), np.float32))


K3_W = {"conv_k": _a(3, 3, 2, 5), "conv_b": _a(5), "g": _a(5), "mm": _a(5), "mv": _a(5) ** 2,
        "in_k": _a(5, 3), "in_b": _a(3), "l_k": _a(3, 8), "l_rk": _a(2, 8), "l_b": _a(8), "head_k": _a(2, 4)}
K3_NAMES = ["conv.kernel", "conv.bias", "bn.gamma", "bn.moving_mean", "bn.moving_variance",
            "inner.inner_dense.kernel", "inner.inner_dense.bias", "lstm.lstm_cell.kernel",
            "lstm.lstm_cell.recurrent_kernel", "lstm.lstm_cell.bias", "head.kernel"]
K3_ORDER = ["conv2d", "batch_normalization", "sequential", "lstm", "dense"]
K3_CONFIG = {"module": "keras.src.models.functional", "class_name": "Functional", "config": {"name": "net", "layers": [
    {"class_name": "InputLayer", "config": {"name": "input_layer"}, "name": "input_layer"},
    {"class_name": "Conv2D", "config": {"name": "conv", "use_bias": True, "groups": 1}},
    {"class_name": "BatchNormalization", "config": {"name": "bn", "center": False, "scale": True}},
    {"class_name": "Sequential", "config": {"name": "inner", "layers": [
        {"class_name": "InputLayer", "config": {"name": "input_2"}},
        {"class_name": "Dense", "config": {"name": "inner_dense", "use_bias": True}}]}},
    {"class_name": "LSTM", "config": {"name": "lstm", "use_bias": True}},
    {"class_name": "Dense", "config": {"name": "head", "use_bias": False}}]}}


def _check_k3(ck):
    assert ck.names() == K3_NAMES
    w = K3_W
    exp = [_conv_oracle(w["conv_k"]), w["conv_b"], w["g"], w["mm"], w["mv"], w["in_k"].T, w["in_b"],
           w["l_k"].T, w["l_rk"].T, w["l_b"], w["head_k"].T]
    for r, e in zip(ck, exp):
        assert r.read().tobytes() == np.ascontiguousarray(e).tobytes() and tuple(r.shape) == e.shape, r.name
    got = [(r.role, r.fan_in, r.fan_out) for r in ck]
    assert got == [("conv", 18, 45), ("bias", 18, 45), ("norm_weight", None, None), ("running_stat", None, None),
                   ("running_stat", None, None), ("linear", 5, 3), ("bias", 5, 3), ("linear", 3, 8),
                   ("linear", 2, 8), ("bias", 3, 8), ("linear", 2, 4)]
    assert ck["conv.kernel"].stored_name == "layers/conv2d/vars/0"
    assert ck["lstm.lstm_cell.bias"].stored_name == "layers/lstm/cell/vars/2"
    assert ck.warnings.count(LAYOUT_WARNING) == 1
    assert "optimizer state skipped (not weights): 7 tensor(s) of adam under optimizer/" in ck.warnings


def test_keras3_weights_h5(tmp_path):
    p = tmp_path / "model.weights.h5"
    with h5py.File(p, "w") as f:
        _write_k3(f, K3_W, K3_ORDER)
    ck = paramstat.load(str(p))
    assert ck.format == "keras-h5"
    _check_k3(ck)   # no config: order from the data offsets, optional vars dropped from the end
    assert any("no Keras config" in x for x in ck.warnings)


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_keras_zip_order_from_config(tmp_path, compression):
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        _write_k3(f, K3_W, K3_ORDER[::-1])   # written backwards: only the config gives the network order
    p = tmp_path / "model.keras"
    with zipfile.ZipFile(p, "w", compression) as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        z.writestr("config.json", json.dumps(K3_CONFIG))
        z.writestr("model.weights.h5", buf.getvalue())
    ck = paramstat.load(str(p))
    assert ck.format == "keras"
    _check_k3(ck)
    assert not any("no Keras config" in x for x in ck.warnings)
    assert ck.provenance["keras_version"] == "3.15.1"
    assert ck["head.kernel"].module_type == "Dense" and ck["bn.gamma"].module_type == "BatchNormalization"
    # the same archive under another extension is sniffed as Keras
    q = tmp_path / "model.bin2"
    q.write_bytes(p.read_bytes())
    assert paramstat.load(str(q)).names() == K3_NAMES


def test_other_hdf5_keeps_generic_reader(tmp_path):
    p = tmp_path / "plain.h5"
    with h5py.File(p, "w") as f:
        f.create_dataset("enc/weight", data=_a(4, 3))
        f.create_dataset("enc/bias", data=_a(4))
    ck = paramstat.load(str(p))
    assert ck.format == "h5" and ck.names() == ["enc.bias", "enc.weight"]


def _fresh_legacy(path, seed=0):
    """A fresh Keras CNN (glorot_uniform kernels, zero biases, BN 1/0/0/1) in the legacy full-model layout."""
    rng = np.random.default_rng(seed)

    def glorot(shape):
        rf = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
        lim = np.sqrt(6 / ((shape[-2] + shape[-1]) * rf))
        return rng.uniform(-lim, lim, shape).astype(np.float32)

    layers, cfg = [], []
    cin = 3
    for i, cout in enumerate((32, 32, 64, 64)):
        n = "conv2d" if i == 0 else f"conv2d_{i}"
        b = "batch_normalization" if i == 0 else f"batch_normalization_{i}"
        layers.append((n, [(f"{n}/kernel:0", glorot((3, 3, cin, cout))), (f"{n}/bias:0", np.zeros(cout, np.float32))]))
        layers.append((b, [(f"{b}/gamma:0", np.ones(cout, np.float32)), (f"{b}/beta:0", np.zeros(cout, np.float32)),
                           (f"{b}/moving_mean:0", np.zeros(cout, np.float32)),
                           (f"{b}/moving_variance:0", np.ones(cout, np.float32))]))
        cfg += [_cfg("Conv2D", n), _cfg("BatchNormalization", b)]
        cin = cout
    for i, (fi, fo) in enumerate(((1024, 256), (256, 10))):
        n = "dense" if i == 0 else f"dense_{i}"
        layers.append((n, [(f"{n}/kernel:0", glorot((fi, fo))), (f"{n}/bias:0", np.zeros(fo, np.float32))]))
        cfg.append(_cfg("Dense", n))
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = "2.9.0"
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = json.dumps(_cfg("Sequential", "sequential", layers=cfg))
        _write_layers(f.create_group("model_weights"), layers)


def test_fresh_keras_model_is_untrained(tmp_path):
    p = tmp_path / "fresh.h5"
    _fresh_legacy(p)
    res = paramstat.scan(str(p))
    assert res.verdict == "untrained"
    by = {t.name: t for t in res.tensors}
    # glorot_uniform on the PyTorch-layout kernel is paramstat's xavier_uniform with the fans given
    sig = by["conv2d_1.kernel"].stats["signature"]
    assert sig["best"] == "xavier_uniform" and abs(sig["scale_ratio"] - 1) < 0.05
    assert by["dense.kernel"].stats["signature"]["best"] == "xavier_uniform"
    assert by["conv2d.bias"].verdict == "untrained" and by["batch_normalization.gamma"].verdict == "untrained"


# ---------------------------------------------------------------------------------------------- real file

def test_real_cifar_10_model():
    spec = importlib.util.find_spec("cifar_10_model")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("cifar-10-model (PyPI) not installed")
    p = Path(spec.submodule_search_locations[0]) / "trained_models" / "cnn_model.h5"
    ck = paramstat.load(str(p))
    assert ck.format == "keras-h5" and len(ck) == 42
    first = ck.records[0]
    assert (first.name, tuple(first.shape), first.stored_name) == (
        "conv2d.kernel", (64, 3, 3, 3), "model_weights/conv2d/conv2d/kernel:0")
    assert (first.fan_in, first.fan_out) == (27, 576)
    with h5py.File(p, "r") as f:
        k = f["model_weights/conv2d/conv2d/kernel:0"][()]
    assert first.read().tobytes() == np.ascontiguousarray(k.transpose(3, 2, 0, 1)).tobytes()
    assert not any("optimizer" in r.stored_name or "Adam" in r.stored_name for r in ck)
    assert "optimizer state skipped (not weights): 61 tensor(s) of Adam under optimizer_weights/" in ck.warnings
    roles = [r.role for r in ck]
    assert roles.count("conv") == 6 and roles.count("linear") == 3 and roles.count("running_stat") == 12
