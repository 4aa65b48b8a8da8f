"""Framework-aware law choice (paramstat.verdict.exactlaw.framework_laws): a record whose framework is known
is matched against that framework's laws only (a PyTorch-exported ONNX file never against Keras-only laws; a
'keras' record only against Keras laws), and "std near law X" is not counted for a law the framework does not
have (paramstat.verdict.rules.discount_misfit)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from paramstat.record import TensorRecord
from paramstat.verdict.features import tensor_features
from paramstat.verdict.rules import exact_law_fact, judge_features


def _rec(w, framework):
    out_, in_ = w.shape[:2]
    rf = int(np.prod(w.shape[2:])) if w.ndim > 2 else 1
    role = "conv" if w.ndim > 2 else "linear"
    return TensorRecord(name="w", stored_name="w", dtype="float32", shape=tuple(w.shape), role=role, depth=0,
                        fan_in=in_ * rf, fan_out=out_ * rf, reader=lambda: w, framework=framework)


def test_torch_only_law_is_not_matched_in_a_keras_file():
    # torch's own kaiming_normal_ (fan_in, untruncated): a torch-only law in the registry
    from paramstat.stats.initlaws import get_law

    assert not any(lib.startswith("keras") for lib in get_law("kaiming_normal_fan_in").libraries)
    g = torch.Generator().manual_seed(0)
    w = torch.empty(64, 32, 1, 1)
    torch.nn.init.kaiming_normal_(w, generator=g)
    w = w.numpy()
    torch_file = exact_law_fact(tensor_features(_rec(w, None), w))
    assert torch_file is not None and torch_file["law"].startswith("kaiming_normal_fan_in")
    # wrong framework: Keras has no untruncated he_normal (its HeNormal is truncated), so in a Keras file
    # the same values are at no Keras init
    f = tensor_features(_rec(w, "keras"), w)
    assert exact_law_fact(f) is None
    tv = judge_features(_rec(w, "keras"), f)
    assert all(e.feature != "exact_law" for e in tv.evidence)


def test_keras_draws_are_still_matched_in_a_keras_file():
    keras = pytest.importorskip("keras")
    # Keras' own GlorotUniform and HeNormal (truncated) for a Conv2D kernel stored as torch's (out, in, k, k)
    for init, law in ((keras.initializers.GlorotUniform(seed=1), "xavier_uniform"),
                      (keras.initializers.HeNormal(seed=2), "he_normal_trunc")):
        k = np.asarray(keras.ops.convert_to_numpy(init((3, 3, 32, 64))), dtype=np.float32)   # (kh, kw, in, out)
        w = np.ascontiguousarray(k.transpose(3, 2, 0, 1))
        el = exact_law_fact(tensor_features(_rec(w, "keras"), w))
        assert el is not None and el["law"] == law, (law, el)


def _gemm_onnx(path, w, producer):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    out_, in_ = w.shape
    g = helper.make_graph(
        [helper.make_node("Gemm", ["x", "W", "b"], ["y"], transB=1)], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, in_])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, out_])],
        [numpy_helper.from_array(w, "W"), numpy_helper.from_array(np.zeros(out_, np.float32), "b")])
    m = helper.make_model(g, producer_name=producer)
    onnx.save(m, str(path))
    return path


@pytest.mark.parametrize("producer,keras_law", [("pytorch", False), ("tf2onnx", True), ("", True)])
def test_onnx_producer_chooses_the_laws(tmp_path, producer, keras_law):
    # N(0, .05): Keras' RandomNormal default, a Keras-only law. torch.onnx.export writes producer 'pytorch'
    # (openWakeWord's timer head, exported from PyTorch, matched it); tf2onnx files come from Keras / TF
    from paramstat.verdict import scan

    g = torch.Generator().manual_seed(0)
    w = torch.empty(64, 128).normal_(0.0, 0.05, generator=g).numpy()
    res = scan(str(_gemm_onnx(tmp_path / "m.onnx", w, producer)), progress=False)
    t = {x.name: x for x in res.tensors}["W"]
    laws = [e.text for e in t.evidence if e.feature == "exact_law"]
    assert bool(laws and "keras_random_normal" in laws[0]) == keras_law, (producer, laws)
