"""HDF5 store: bit-exact round trip (fp32/fp16/bf16/fp64, NaN payloads, -0.0), layout, attrs, per_tensor
callback, atomic refusal to overwrite."""
from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paramstat.errors import ParamstatError
from paramstat.sources import checkpoint_from_module, load
from paramstat.store import write_h5

SPECIALS = {  # raw bit patterns: quiet NaN with payload, signalling NaN, -0.0, +-inf, denormal
    "float32": np.array([0x7FC00001, 0x7F800001, 0x80000000, 0x7F800000, 0xFF800000, 0x00000001, 0xFFC12345],
                        dtype=np.uint32).view(np.float32),
    "float64": np.array([0x7FF8000000000001, 0x7FF0000000000001, 0x8000000000000000, 0x0000000000000001],
                        dtype=np.uint64).view(np.float64),
    "float16": np.array([0x7E01, 0x7C01, 0x8000, 0x0001, 0xFC00], dtype=np.uint16).view(np.float16),
}


def _bits(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    return a.view({1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}[a.dtype.itemsize])


def _mixed_module():
    torch.manual_seed(1)
    m = torch.nn.Module()
    m.conv1 = torch.nn.Conv2d(3, 4, 3)
    m.bn1 = torch.nn.BatchNorm2d(4)
    m.fc = torch.nn.Linear(64, 40)
    m.fc.weight.data = m.fc.weight.data.to(torch.float16)
    m.emb = torch.nn.Embedding(50, 30).to(torch.bfloat16)
    m.head = torch.nn.Linear(30, 20).to(torch.float64)
    with torch.no_grad():
        flat = m.conv1.weight.view(-1)
        flat[: SPECIALS["float32"].size] = torch.from_numpy(SPECIALS["float32"].copy())
        m.head.weight.view(-1)[:4] = torch.from_numpy(SPECIALS["float64"].copy())
        m.fc.weight.view(-1)[:5] = torch.from_numpy(SPECIALS["float16"].copy())
        u = m.emb.weight.view(torch.int16).view(-1)
        u[:3] = torch.tensor([0x7FC1, -32768, 0x7F81], dtype=torch.int16)  # bf16 NaN payload, -0.0, sNaN
    return m


def test_roundtrip_bit_exact(tmp_path):
    m = _mixed_module()
    ck = checkpoint_from_module(m, "mixed", provenance={"arch": "mixed", "seed": 1})
    out = write_h5(ck, tmp_path / "m.h5")
    back = load(str(out))
    assert back.format == "h5"
    assert back.names() == ck.names()
    assert {r.dtype for r in back} >= {"float32", "float16", "bfloat16", "float64", "int64"}
    for a, b in zip(ck, back):
        assert (a.dtype, a.shape, a.role, a.fan_in, a.fan_out, a.groups, a.depth, a.module_type) == \
               (b.dtype, b.shape, b.role, b.fan_in, b.fan_out, b.groups, b.depth, b.module_type), a.name
        x, y = a.read(), b.read()
        assert x.dtype == y.dtype
        assert np.array_equal(_bits(x), _bits(y)), a.name
    # the specials survived: bf16 NaN payload 0x7FC1 and -0.0 (0x8000)
    assert back["emb.weight"].read().view(np.uint16).ravel()[:3].tolist() == [0x7FC1, 0x8000, 0x7F81]
    assert _bits(back["conv1.weight"].read()).ravel()[0] == 0x7FC00001
    assert back.provenance["extracted_from"]["arch"] == "mixed"
    assert back.provenance["seed"] == 1


def test_layout_and_attrs(tmp_path):
    m = _mixed_module()
    ck = checkpoint_from_module(m, "mixed", provenance={"arch": "mixed"})
    out = write_h5(ck, tmp_path / "m.h5", attrs={"note": "x"})
    with h5py.File(out) as f:
        assert f.attrs["paramstat_format"] == "paramstat-h5"
        assert f.attrs["arch"] == "mixed" and f.attrs["note"] == "x" and f.attrs["n_tensors"] == len(ck)
        assert json.loads(f.attrs["provenance"])["source"] == "mixed"
        fc = f["fc/weight"]  # 2560 values: chunked + compressed; conv1 (108 values) is stored plain
        assert fc.dtype == np.float16 and fc.compression == "gzip" and fc.chunks is not None and fc.shuffle
        ds = f["conv1/weight"]
        assert ds.dtype == np.float32 and ds.compression is None
        assert ds.attrs["role"] == "conv" and ds.attrs["fan_in"] == 27 and json.loads(ds.attrs["shape"]) == [4, 3, 3, 3]
        emb = f["emb/weight"]
        assert emb.dtype == np.uint16 and emb.attrs["paramstat_dtype"] == "bfloat16"
        assert f["bn1/num_batches_tracked"].dtype == np.int64
        assert "fan_in" not in f["bn1/weight"].attrs  # None fields are omitted


def test_per_tensor_callback(tmp_path):
    ck = checkpoint_from_module(_mixed_module())

    def stats(rec, arr):
        return {"n": int(arr.size), "role": rec.role, "hist": np.arange(3), "nested": {"k": 2}, "skip": None}

    out = write_h5(ck, tmp_path / "s.h5", per_tensor=stats)
    with h5py.File(out) as f:
        assert f["bn1/weight"].attrs["stats.n"] == 4 and f["fc/weight"].attrs["stats.n"] == 2560
        assert f["fc/weight"].attrs["stats.role"] == "linear" and "stats.skip" not in f["fc/weight"].attrs
        assert f["bn1/weight"].attrs["stats.nested.k"] == 2
        assert f["_stats/bn1/weight/hist"][()].tolist() == [0, 1, 2]
    assert load(str(out)).names() == ck.names()  # stats datasets are not tensors


def test_refuses_overwrite_and_leaves_no_temp(tmp_path):
    ck = checkpoint_from_module(torch.nn.Linear(3, 2))
    p = tmp_path / "a.h5"
    write_h5(ck, p)
    before = p.read_bytes()
    with pytest.raises(ParamstatError, match="exists"):
        write_h5(ck, p)
    assert p.read_bytes() == before
    write_h5(ck, p, force=True)

    def boom(rec, arr):
        raise RuntimeError("fail mid-write")

    with pytest.raises(RuntimeError):
        write_h5(ck, tmp_path / "b.h5", per_tensor=boom)
    assert sorted(x.name for x in tmp_path.iterdir()) == ["a.h5"]


def test_awkward_names_go_flat(tmp_path):
    from paramstat.record import Checkpoint, TensorRecord

    arrs = {"a": np.ones(3, np.float32), "a.b": np.zeros(2, np.float32), "x/y": np.full(2, 7, np.float32)}
    recs = [TensorRecord(n, n, "float32", v.shape, "other", i, reader=(lambda v=v: v))
            for i, (n, v) in enumerate(arrs.items())]
    out = write_h5(Checkpoint("t", "module", recs), tmp_path / "w.h5")
    back = load(str(out))
    assert back.names() == ["a", "a.b", "x/y"]
    for n, v in arrs.items():
        assert np.array_equal(back[n].read(), v)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bits=st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=3000),
       dtype=st.sampled_from(["float32", "float16", "bfloat16", "float64"]))
def test_roundtrip_any_bits(tmp_path_factory, bits, dtype):
    from paramstat.record import Checkpoint, TensorRecord

    raw = np.array(bits, dtype=np.uint64)
    if dtype == "float32":
        arr = raw.astype(np.uint32).view(np.float32)
    elif dtype == "float64":
        arr = (raw * np.uint64(2**32 + 7)).view(np.float64)
    elif dtype == "float16":
        arr = (raw & 0xFFFF).astype(np.uint16).view(np.float16)
    else:
        arr = (raw & 0xFFFF).astype(np.uint16)
    rec = TensorRecord("w", "w", dtype, arr.shape, "other", 0, reader=lambda: arr)
    out = write_h5(Checkpoint("h", "module", [rec]), tmp_path_factory.mktemp("h") / "x.h5")
    got = load(str(out))["w"]
    assert got.dtype == dtype
    assert np.array_equal(_bits(got.read()), _bits(arr))
