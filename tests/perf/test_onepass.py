"""One pass over the bytes (sources/onepass.py): the scan's sha256 comes from the analysis' own reads, equals
hashlib over the file, and no tensor byte is read twice; info --no-values reads no values and no hash."""
from __future__ import annotations

import hashlib
import json
import struct

import numpy as np
import pytest

from paramstat.sources import load
from paramstat.sources.onepass import FileDigest


def _write(path, tensors: dict, order=None, tail=b""):
    hdr, off, blobs = {}, 0, []
    for name in order or tensors:
        a = np.ascontiguousarray(tensors[name])
        dt = {"float32": "F32", "uint16": "BF16", "float16": "F16"}[a.dtype.name]
        hdr[name] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        off += a.nbytes
        blobs.append(a.tobytes())
    hb = json.dumps(hdr).encode()
    hb += b" " * (-len(hb) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)) + hb + b"".join(blobs) + tail)
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def st_file(tmp_path):
    rng = np.random.default_rng(0)
    t = {"b.weight": rng.standard_normal((64, 32)).astype(np.float32),
         "a.weight": (rng.standard_normal((48, 40)).astype(np.float32).view(np.uint32) >> 16).astype(np.uint16),
         "a.bias": rng.standard_normal(40).astype(np.float32)}
    p = tmp_path / "m.safetensors"
    # stored order b, a.weight, a.bias (not the writer's sort): records keep it; the sum of reads = the file
    return p, _write(p, t, order=["b.weight", "a.weight", "a.bias"]), t


def test_scan_hash_from_the_analysis_reads(st_file, monkeypatch):
    from paramstat.sources import build
    from paramstat.verdict import scan

    p, want, _ = st_file
    monkeypatch.setattr(build, "sha256_file", lambda *a, **k: pytest.fail("second full read"))
    r = scan(str(p), progress=False)
    assert r.provenance["sha256"] == want
    assert r.checkpoint.digest.reads == sum(rec.numel * (2 if rec.dtype == "bfloat16" else 4)
                                           for rec in r.checkpoint.records)
    assert [t.name for t in r.tensors] == [rec.name for rec in r.checkpoint.records]
    assert scan(str(p), progress=False, hash=False).provenance["sha256"] is None


def test_natural_order_records_byte_order_reads(tmp_path):
    """safetensors' own writer sorts the names: records in natural order, the pass still in byte order."""
    from paramstat.verdict import scan

    rng = np.random.default_rng(1)
    t = {f"blocks.{i}.weight": rng.standard_normal((16, 16)).astype(np.float32) for i in (10, 2, 1)}
    p = tmp_path / "n.safetensors"
    want = _write(p, t, order=sorted(t))  # writer order: blocks.1, blocks.10, blocks.2
    r = scan(str(p), progress=False)
    assert [x.name for x in r.tensors] == ["blocks.1.weight", "blocks.2.weight", "blocks.10.weight"]
    assert r.provenance["order"] == "natural" and r.provenance["sha256"] == want
    # the same verdicts as reading in record order with an eager hash
    ck = load(str(p), hash=True)
    assert ck.provenance["sha256"] == want


def test_out_of_order_read_falls_back_to_full_hash(st_file):
    p, want, _ = st_file
    ck = load(str(p), hash="deferred")
    for rec in reversed(ck.records):
        rec.read()
    assert ck.finish_provenance()["sha256"] == want


def test_unread_and_tail_bytes_hashed(tmp_path):
    rng = np.random.default_rng(2)
    p = tmp_path / "t.safetensors"
    want = _write(p, {"w": rng.standard_normal((8, 8)).astype(np.float32)}, tail=b"")
    d = FileDigest(p, [])
    assert d.hexdigest() == want  # nothing read: the whole file hashed once, in order
    ck = load(str(p), hash="deferred")
    ck.records[0].read()
    assert ck.finish_provenance()["sha256"] == want


def test_values_equal_the_stored_tensor(st_file):
    p, _, t = st_file
    ck = load(str(p), hash="deferred")
    rec = ck.in_byte_order()[0]
    a = rec.read()
    np.testing.assert_array_equal(a, t["b.weight"])


@pytest.mark.parametrize("hash_mode", ["deferred", False])
def test_widened_bf16_read_equals_the_bits_and_keeps_the_hash(tmp_path, monkeypatch, hash_mode):
    """read(widen=True) of a bf16 tensor: the same uint16 bits (a view of the float32 values, no second
    array), the float32 values = dtypes.as_float, the one-pass sha256 unchanged; several 1 MiB chunks (hashed
    on the worker thread) and a short last one."""
    from paramstat.dtypes import as_float
    from paramstat.sources import onepass
    from paramstat.stats.floatpass import bf16_values, widened_base

    monkeypatch.setattr(onepass, "WIDEN_CHUNK", 1 << 19)
    rng = np.random.default_rng(3)
    bits = rng.integers(0, 1 << 16, (1537, 1031), dtype=np.uint32).astype(np.uint16)  # 3.02 chunks, NaN/Inf too
    t = {"lead.weight": rng.standard_normal((8, 8)).astype(np.float32), "big.weight": bits}
    p = tmp_path / "w.safetensors"
    want = _write(p, t, order=["lead.weight", "big.weight"])
    ck = load(str(p), hash=hash_mode)
    recs = [ck["lead.weight"], ck["big.weight"]]  # in byte order
    assert recs[0].read(widen=True).dtype == np.float32  # not bf16: as stored
    w = recs[1].read(widen=True)
    assert w.shape == bits.shape and w.dtype == np.uint16
    np.testing.assert_array_equal(w, bits)
    base = widened_base(w)
    assert base is not None and base.nbytes == 2 * bits.nbytes
    x, bad = bf16_values(w)
    assert np.shares_memory(x, w)  # no copy
    ref = as_float(bits, "bfloat16")
    np.testing.assert_array_equal(x.view(np.uint32), ref.view(np.uint32))
    assert bad == ref.size - np.count_nonzero(np.isfinite(ref)) > 0
    assert widened_base(recs[1].read()) is None  # the plain read: the stored bits, contiguous
    if hash_mode:
        assert ck.finish_provenance()["sha256"] == want


def test_info_no_values_reads_headers_only(st_file, monkeypatch, capsys):
    from paramstat.cli import main
    from paramstat.sources import onepass

    p, want, _ = st_file
    monkeypatch.setattr(onepass.FileDigest, "_read", lambda *a: pytest.fail("value read"))
    main(["info", str(p), "--no-values", "--json", "-"])
    assert json.loads(capsys.readouterr().out)["provenance"]["sha256"] is None
    monkeypatch.undo()
    main(["info", str(p), "--json", "-"])
    assert json.loads(capsys.readouterr().out)["provenance"]["sha256"] == want
