"""Contract of every registered file reader (paramstat.sources.registry): a small valid file per reader,
built here by the format's own library (torch, safetensors, numpy, onnx, h5py in Keras' layouts, paramstat's
store); each must keep dtypes, tensor order and values, set roles, and fail on a truncated copy with one
ParamstatError (not a traceback). A reader registered without a fixture here fails
`test_every_reader_has_a_fixture`."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import paramstat
from paramstat.errors import ParamstatError
from paramstat.record import ROLES
from paramstat.sources.registry import reader_for_path, reader_names


def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 4), nn.LayerNorm(4), nn.Linear(4, 3)).eval()


def _sd(dtype=torch.float32):
    return {k: v.detach().to(dtype).contiguous() for k, v in _net().state_dict().items()}


def _torch_expected(dtype=torch.float32):
    return [(k, str(v.dtype).replace("torch.", ""), v.numpy()) for k, v in _sd(dtype).items()]


# ------------------------------------------------------------------------------------------ builders
# each: tmp dir -> (path to load, expected [(name, dtype, array in PyTorch layout)] in network order,
#                   the file a truncation test cuts)

def _safetensors(d: Path):
    from safetensors.torch import save_file

    p = d / "w.safetensors"
    save_file(_sd(torch.float16), str(p))
    return p, _torch_expected(torch.float16), p


def _hf_folder(d: Path):
    from safetensors.torch import save_file

    f = d / "repo"
    f.mkdir()
    save_file(_sd(), str(f / "model.safetensors"))
    (f / "config.json").write_text(json.dumps({"model_type": "mlp", "architectures": ["Mlp"]}))
    return f, _torch_expected(), f / "model.safetensors"


def _index(d: Path):
    from safetensors.torch import save_file

    sd = _sd()
    keys = list(sd)
    wm = {}
    for i, part in enumerate((keys[:3], keys[3:])):
        name = f"model-0000{i + 1}-of-00002.safetensors"
        save_file({k: sd[k] for k in part}, str(d / name))
        wm.update({k: name for k in part})
    p = d / "model.safetensors.index.json"
    p.write_text(json.dumps({"metadata": {}, "weight_map": wm}))
    return p, _torch_expected(), d / "model-00002-of-00002.safetensors"


def _torch_zip(d: Path):
    p = d / "w.pt"
    torch.save(_sd(torch.float16), p)
    return p, _torch_expected(torch.float16), p


def _torch_legacy(d: Path):
    p = d / "w.pth"
    torch.save(_sd(), p, _use_new_zipfile_serialization=False)
    return p, _torch_expected(), p


def _torchscript(d: Path):
    p = d / "w.jit"
    torch.jit.save(torch.jit.script(_net()), str(p))
    return p, _torch_expected(), p


def _onnx(d: Path):
    pytest.importorskip("onnx")
    p = d / "w.onnx"
    torch.onnx.export(_net(), (torch.randn(2, 6),), str(p), dynamo=False)
    return p, _torch_expected(), p


def _npz(d: Path):
    p = d / "w.npz"
    sd = _sd(torch.float16)
    np.savez(p, **{k: v.numpy() for k, v in sd.items()})
    return p, _torch_expected(torch.float16), p


def _paramstat_h5(d: Path):
    from paramstat.store import write_h5

    p = d / "w.h5"
    write_h5(paramstat.load(_net()), p)
    return p, _torch_expected(), p


def _keras_arrays():
    rng = np.random.default_rng(0)
    k1, b1 = rng.standard_normal((6, 4)).astype(np.float32), rng.standard_normal(4).astype(np.float32)
    g, b = rng.standard_normal(4).astype(np.float32), rng.standard_normal(4).astype(np.float32)
    k2, b2 = rng.standard_normal((4, 3)).astype(np.float32), rng.standard_normal(3).astype(np.float32)
    return k1, b1, g, b, k2, b2


def _keras_expected(names):
    k1, b1, g, b, k2, b2 = _keras_arrays()   # Dense kernels (in, out) are shown as PyTorch (out, in)
    return [(n, "float32", a) for n, a in zip(names, (k1.T, b1, g, b, k2.T, b2))]


def _bytes_list(names):
    return np.array([n.encode("utf8") for n in names])


def _keras_legacy_h5(d: Path):
    import h5py

    k1, b1, g, b, k2, b2 = _keras_arrays()
    layers = [("dense", [("dense/kernel:0", k1), ("dense/bias:0", b1)]),
              ("layer_normalization", [("layer_normalization/gamma:0", g), ("layer_normalization/beta:0", b)]),
              ("dense_1", [("dense_1/kernel:0", k2), ("dense_1/bias:0", b2)])]
    p = d / "w.h5"
    with h5py.File(p, "w") as f:
        f.attrs["backend"] = "tensorflow"
        f.attrs["keras_version"] = "2.9.0"
        f.attrs["layer_names"] = _bytes_list([n for n, _ in layers])
        for name, ws in layers:
            lg = f.create_group(name)
            lg.attrs["weight_names"] = _bytes_list([w for w, _ in ws])
            for w, a in ws:
                lg.create_dataset(w, data=a)
    names = ["dense.kernel", "dense.bias", "layer_normalization.gamma", "layer_normalization.beta",
             "dense_1.kernel", "dense_1.bias"]
    return p, _keras_expected(names), p


def _write_k3(f):
    k1, b1, g, b, k2, b2 = _keras_arrays()
    f.create_group("vars").attrs["name"] = "net"
    L = f.create_group("layers")
    for key, name, arrays in (("dense", "fc1", (k1, b1)), ("layer_normalization", "ln", (g, b)),
                              ("dense_1", "fc2", (k2, b2))):
        v = L.create_group(f"{key}/vars")
        v.attrs["name"] = name
        for i, a in enumerate(arrays):
            v.create_dataset(str(i), data=a)


K3_NAMES = ["fc1.kernel", "fc1.bias", "ln.gamma", "ln.beta", "fc2.kernel", "fc2.bias"]


def _keras3_weights_h5(d: Path):
    import h5py

    p = d / "w.weights.h5"
    with h5py.File(p, "w") as f:
        _write_k3(f)
    return p, _keras_expected(K3_NAMES), p


def _keras_zip(d: Path):
    import h5py

    inner = d / "model.weights.h5"
    with h5py.File(inner, "w") as f:
        _write_k3(f)
    cfg = {"class_name": "Sequential", "config": {"name": "net", "layers": [
        {"class_name": "Dense", "config": {"name": "fc1", "use_bias": True}},
        {"class_name": "LayerNormalization", "config": {"name": "ln", "center": True, "scale": True}},
        {"class_name": "Dense", "config": {"name": "fc2", "use_bias": True}}]}}
    p = d / "w.keras"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("config.json", json.dumps(cfg))
        z.writestr("metadata.json", json.dumps({"keras_version": "3.15.0"}))
        z.write(inner, "model.weights.h5")
    inner.unlink()
    return p, _keras_expected(K3_NAMES), p


FIXTURES = {
    "safetensors": [_safetensors, _hf_folder],
    "index": [_index],
    "torch": [_torch_zip, _torch_legacy],
    "torchscript": [_torchscript],
    "onnx": [_onnx],
    "npz": [_npz],
    "h5": [_paramstat_h5, _keras_legacy_h5, _keras3_weights_h5],
    "keras": [_keras_zip],
}
CASES = [pytest.param(name, b, id=f"{name}-{b.__name__.lstrip('_')}") for name, bs in FIXTURES.items() for b in bs]


def test_every_reader_has_a_fixture():
    assert set(reader_names()) == set(FIXTURES)


@pytest.mark.parametrize("reader,builder", CASES)
def test_reader_keeps_dtype_order_values_and_sets_roles(reader, builder, tmp_path):
    path, expected, cut = builder(tmp_path)
    if path.is_file():
        assert reader_for_path(path)[0].name == reader
    ck = paramstat.load(str(path))
    got = [(r.name, r.dtype) for r in ck.records]
    assert got == [(n, dt) for n, dt, _ in expected]
    for r, (_n, _dt, a) in zip(ck.records, expected):
        assert tuple(r.shape) == a.shape
        assert np.array_equal(r.read(), a), r.name
    roles = [r.role for r in ck.records]
    assert set(roles) <= set(ROLES)
    assert roles.count("linear") == 2 and roles.count("bias") == 2, roles   # the two Linear/Dense layers
    assert {r.role for r in ck.records if r.name.split(".")[0] in ("1", "ln", "layer_normalization")} == \
        {"norm_weight", "norm_bias"}


@pytest.mark.parametrize("reader,builder", CASES)
def test_truncated_file_is_one_clear_error(reader, builder, tmp_path):
    path, _expected, cut = builder(tmp_path)
    data = cut.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ParamstatError) as ei:
        ck = paramstat.load(str(path))
        for r in ck.records:   # a lazy reader may only find out when it reads
            r.read()
    msg = str(ei.value)
    assert "\n" not in msg and len(msg) < 400
