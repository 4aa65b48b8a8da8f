"""ONNX reader: arrays equal the torch weights that were exported (transposed/reshaped where documented),
roles and fans hand-checked, graphs built with onnx.helper for the ops torch's exporter fuses away."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn as nn

from paramstat.errors import ParamstatError
from paramstat.sources import load

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


def _export(module, example, path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), (example,), str(path), dynamo=False)
    return path


def _info(ck):
    return {r.stored_name: (r.role, tuple(r.shape), r.fan_in, r.fan_out, r.groups) for r in ck.records}


def test_torch_export_conv_dwconv_gemm(tmp_path):
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 8, 3, groups=8), nn.Flatten(),
                      nn.Linear(8 * 4 * 4, 5))
    ck = load(str(_export(m, torch.randn(1, 3, 8, 8), tmp_path / "m.onnx")))
    assert ck.format == "onnx"
    assert ck.names() == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
    sd = m.state_dict()
    for r in ck.records:
        assert np.array_equal(r.read(), sd[r.stored_name].numpy())   # Gemm transB=1: (out, in) as stored
    info = _info(ck)
    assert info["0.weight"] == ("conv", (8, 3, 3, 3), 27, 72, 1)
    assert info["0.bias"] == ("bias", (8,), 27, 72, 1)
    assert info["2.weight"] == ("dwconv", (8, 1, 3, 3), 9, 72, 8)
    assert info["4.weight"] == ("linear", (5, 128), 128, 5, None)
    assert info["4.bias"] == ("bias", (5,), 128, 5, None)
    assert not any("transposed" in w for w in ck.warnings)


def test_torch_export_lstm_gate_order(tmp_path):
    torch.manual_seed(0)
    lstm = nn.LSTM(4, 6)
    ck = load(str(_export(lstm, torch.randn(2, 1, 4), tmp_path / "l.onnx")))
    weights = [r for r in ck.records if r.module_type == "LSTM"]
    assert [(r.role, tuple(r.shape), r.fan_in, r.fan_out) for r in weights] == [
        ("linear", (24, 4), 4, 24), ("linear", (24, 6), 6, 24), ("bias", (48,), 4, 24)]
    # ONNX gate order i,o,f,c; PyTorch i,f,g,o
    perm = lambda t: torch.cat([t[0:6], t[18:24], t[6:12], t[12:18]])  # noqa: E731
    sd = lstm.state_dict()
    assert np.array_equal(weights[0].read(), perm(sd["weight_ih_l0"]).numpy())
    assert np.array_equal(weights[1].read(), perm(sd["weight_hh_l0"]).numpy())
    assert np.array_equal(weights[2].read(), torch.cat([perm(sd["bias_ih_l0"]), perm(sd["bias_hh_l0"])]).numpy())


def _model(nodes, inits, path, inputs=("x",), external=False):
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in inputs],
                          [helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, None)],
                          initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    if external:
        onnx.save_model(m, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                        location=path.name + ".data", size_threshold=0)
    else:
        onnx.save(m, str(path))
    return path


def test_helper_graph_gemm_matmul_bn_ln_constants(tmp_path):
    rng = np.random.default_rng(0)
    a = {k: rng.standard_normal(s).astype(np.float32) for k, s in {
        "unused": (3, 3), "gemm0_B": (6, 4), "gemm0_C": (4,), "mm_W": (4, 5), "bn_s": (5,), "bn_b": (5,),
        "bn_m": (5,), "bn_v": (5,), "ln_s": (5,), "ln_b": (5,), "eps": ()}.items()}
    a["bn_v"] = np.abs(a["bn_v"])
    inits = [numpy_helper.from_array(v, k) for k, v in a.items()]
    inits.append(numpy_helper.from_array(np.array([1, -1], dtype=np.int64), "shape"))
    inits.append(numpy_helper.from_array(a["gemm0_B"].astype(np.float16), "half_B"))
    const = rng.standard_normal((5, 5)).astype(np.float32)
    nodes = [
        helper.make_node("Gemm", ["x", "gemm0_B", "gemm0_C"], ["h0"], transB=0),          # B (in=6, out=4)
        helper.make_node("Constant", [], ["cw"], value=numpy_helper.from_array(const, "cw")),
        helper.make_node("MatMul", ["h0", "mm_W"], ["h1"]),                                 # W (in=4, out=5)
        helper.make_node("Identity", ["cw"], ["cw_id"]),
        helper.make_node("MatMul", ["h1", "cw_id"], ["h1b"]),                               # Constant via Identity
        helper.make_node("Reshape", ["h1b", "shape"], ["h2"]),
        helper.make_node("BatchNormalization", ["h2", "bn_s", "bn_b", "bn_m", "bn_v"], ["h3"]),
        helper.make_node("LayerNormalization", ["h3", "ln_s", "ln_b"], ["h4"]),
        helper.make_node("Mul", ["h4", "eps"], ["h5"]),
        helper.make_node("Cast", ["half_B"], ["hb32"], to=TensorProto.FLOAT),
        helper.make_node("Gemm", ["x", "hb32"], ["y"], transB=0),
    ]
    ck = load(str(_model(nodes, inits, tmp_path / "g.onnx")))
    assert [r.stored_name for r in ck.records] == ["gemm0_B", "gemm0_C", "mm_W", "cw", "bn_s", "bn_b", "bn_m",
                                                   "bn_v", "ln_s", "ln_b", "half_B"]   # 'unused': no node reads it
    info = _info(ck)
    assert info["gemm0_B"] == ("linear", (4, 6), 6, 4, None)      # transposed to (out, in)
    assert info["gemm0_C"] == ("bias", (4,), 6, 4, None)
    assert info["mm_W"] == ("linear", (5, 4), 4, 5, None)
    assert info["cw"] == ("linear", (5, 5), 5, 5, None)
    assert [info[k][0] for k in ("bn_s", "bn_b", "bn_m", "bn_v", "ln_s", "ln_b")] == [
        "norm_weight", "norm_bias", "running_stat", "running_stat", "norm_weight", "norm_bias"]
    assert info["half_B"][:2] == ("linear", (4, 6)) and ck["half_B"].dtype == "float16"
    assert np.array_equal(ck["gemm0_B"].read(), a["gemm0_B"].T)
    assert np.array_equal(ck["mm_W"].read(), a["mm_W"].T)
    assert np.array_equal(ck["cw"].read(), const.T)
    assert np.array_equal(ck["half_B"].read(), a["gemm0_B"].astype(np.float16).T)
    assert np.array_equal(ck["bn_v"].read(), a["bn_v"])
    w = " | ".join(ck.warnings)
    assert "4 Gemm(transB=0)/MatMul weight(s) transposed" in w
    assert "1 integer/bool tensor(s)" in w and "1 float scalar(s)" in w       # shape and eps skipped
    assert "skipped 1 float tensor(s) no graph node reads (not part of the model's computation): unused" in w


def test_external_data_subgraph_and_bfloat16(tmp_path):
    rng = np.random.default_rng(1)
    w = rng.standard_normal((4, 3, 3)).astype(np.float32)
    bf = helper.make_tensor("emb", TensorProto.BFLOAT16, (10, 4),
                            (rng.integers(0, 2 ** 16, 40, dtype=np.uint16)).tolist(), raw=False)
    bf_bits = np.array(bf.int32_data, dtype=np.uint16).reshape(10, 4)
    then = helper.make_graph([helper.make_node("Conv", ["x", "sub_w"], ["t"])], "then", [],
                             [helper.make_tensor_value_info("t", TensorProto.FLOAT, None)],
                             initializer=[numpy_helper.from_array(w, "sub_w")])
    other = helper.make_graph([helper.make_node("Identity", ["x"], ["e"])], "else", [],
                              [helper.make_tensor_value_info("e", TensorProto.FLOAT, None)])
    nodes = [helper.make_node("Gather", ["emb", "idx"], ["g"]),
             helper.make_node("If", ["cond"], ["y"], then_branch=then, else_branch=other)]
    p = _model(nodes, [bf], tmp_path / "ext.onnx", inputs=("x", "idx", "cond"), external=True)
    assert (tmp_path / "ext.onnx.data").exists()
    ck = load(str(p))
    info = _info(ck)
    assert ck.names() == ["emb", "sub_w"]
    assert info["emb"] == ("embedding", (10, 4), 4, 10, None) and ck["emb"].dtype == "bfloat16"
    assert np.array_equal(ck["emb"].read(), bf_bits)                         # raw bf16 bits kept
    assert info["sub_w"] == ("conv", (4, 3, 3), 9, 12, 1)
    assert np.array_equal(ck["sub_w"].read(), w)
    (tmp_path / "ext.onnx.data").unlink()
    with pytest.raises(ParamstatError) as ei:
        load(str(p))
    assert "external data" in str(ei.value) and "\n" not in str(ei.value)


def test_not_onnx_is_one_line(tmp_path):
    p = tmp_path / "x.onnx"
    p.write_bytes(b"\xff\xfe garbage that is not protobuf \x00\x01" * 5)
    with pytest.raises(ParamstatError) as ei:
        load(str(p))
    assert "ONNX" in str(ei.value) and "\n" not in str(ei.value)
