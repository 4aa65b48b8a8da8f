"""Bad inputs through the CLI: non-zero exit, exactly one line on stderr naming the file, no traceback;
--debug shows the traceback. The malicious pickle must be refused without running anything."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from paramstat.cli import main
from paramstat.errors import ParamstatError, UnsafePickleError


def run_cli(capsys, *argv):
    rc = main(list(argv))
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def assert_one_line_error(capsys, path, *argv):
    rc, out, err = run_cli(capsys, *argv)
    assert rc != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert str(path) in lines[0]
    assert "Traceback" not in err and "internal error" not in err
    return lines[0]


class Evil:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def _good_safetensors(path):
    save_file({"a.weight": torch.randn(64, 64), "b.weight": torch.randn(64)}, path)


def test_missing_file(capsys, tmp_path):
    p = tmp_path / "nope.pt"
    line = assert_one_line_error(capsys, p, "info", str(p))
    assert "not found" in line


def test_folder_without_weights(capsys, tmp_path):
    (tmp_path / "README.txt").write_text("hi")
    line = assert_one_line_error(capsys, tmp_path, "info", str(tmp_path))
    assert "no weights" in line


def test_unknown_extension(capsys, tmp_path):
    p = tmp_path / "weights.xyz"
    p.write_bytes(os.urandom(256))
    line = assert_one_line_error(capsys, p, "info", str(p))
    assert "unknown file type" in line and ".safetensors" in line


def test_unknown_extension_sniffed(capsys, tmp_path):
    p = tmp_path / "weights.data"
    _good_safetensors(p)
    rc, out, err = run_cli(capsys, "info", str(p), "--json", "-")
    assert rc == 0 and json.loads(out)["format"] == "safetensors"


@pytest.mark.parametrize("cut", [4, 40, 0.5, -1])
def test_truncated_safetensors(capsys, tmp_path, cut):
    p = tmp_path / "m.safetensors"
    _good_safetensors(p)
    data = p.read_bytes()
    n = int(len(data) * cut) if isinstance(cut, float) else (cut if cut > 0 else len(data) + cut)
    p.write_bytes(data[:n])
    line = assert_one_line_error(capsys, p, "info", str(p))
    assert "safetensors" in line


def test_corrupt_safetensors_header(capsys, tmp_path):
    p = tmp_path / "m.safetensors"
    hdr = b'{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]'  # no closing brace
    p.write_bytes(len(hdr).to_bytes(8, "little") + hdr + b"\0" * 8)
    assert "corrupt safetensors header" in assert_one_line_error(capsys, p, "info", str(p))
    hdr = b'{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 8]}}'  # 4 floats in 8 bytes
    p.write_bytes(len(hdr).to_bytes(8, "little") + hdr + b"\0" * 8)
    assert "corrupt safetensors header" in assert_one_line_error(capsys, p, "info", str(p))


@pytest.mark.parametrize("zipfmt", [True, False])
def test_truncated_pickle(capsys, tmp_path, zipfmt):
    p = tmp_path / "m.pt"
    torch.save({"w": torch.randn(300)}, p, _use_new_zipfile_serialization=zipfmt)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    assert_one_line_error(capsys, p, "info", str(p))


def test_garbage_pickle(capsys, tmp_path):
    p = tmp_path / "m.pth"
    p.write_bytes(b"this is not a pickle at all" * 10)
    assert_one_line_error(capsys, p, "info", str(p))


def test_truncated_and_garbage_h5(capsys, tmp_path):
    src = tmp_path / "m.safetensors"
    _good_safetensors(src)
    h5 = tmp_path / "m.h5"
    assert main(["extract", str(src), "-o", str(h5)]) == 0
    capsys.readouterr()
    data = h5.read_bytes()
    h5.write_bytes(data[: len(data) // 2])
    assert "HDF5" in assert_one_line_error(capsys, h5, "info", str(h5))
    h5.write_bytes(b"\x89HDF\r\n\x1a\n" + os.urandom(500))
    assert_one_line_error(capsys, h5, "info", str(h5))
    h5.write_bytes(b"plain text")
    assert_one_line_error(capsys, h5, "info", str(h5))


def test_unsafe_pickle_refused_without_running(capsys, tmp_path):
    marker = tmp_path / "MARKER_should_not_exist"
    for i, obj in enumerate([{"w": torch.ones(3), "evil": Evil(marker)}, Evil(marker)]):
        p = tmp_path / f"evil{i}.pt"
        torch.save(obj, p)
        line = assert_one_line_error(capsys, p, "info", str(p))
        assert "refused" in line and "arbitrary code" in line and "--trust-pickle" in line
        assert not marker.exists()
        with pytest.raises(UnsafePickleError):
            from paramstat.sources import load
            load(str(p))
        assert not marker.exists()


def test_trust_pickle_loads_with_warning(capsys, tmp_path):
    marker = tmp_path / "MARKER_trusted"
    p = tmp_path / "evil.pt"
    torch.save({"w": torch.ones(3), "evil": Evil(marker)}, p)
    rc, out, err = run_cli(capsys, "info", str(p), "--trust-pickle", "--json", "-")
    assert rc == 0 and marker.exists()  # the code ran: that is what --trust-pickle means
    assert "warning" in err and "trust-pickle" in err
    assert [t["name"] for t in json.loads(out)["tensors"]] == ["w"]


@pytest.mark.parametrize("kind", ["torch_empty", "torch_no_tensors", "safetensors_empty", "zero_bytes", "npz_empty"])
def test_empty_checkpoint(capsys, tmp_path, kind):
    if kind == "torch_empty":
        p = tmp_path / "e.pt"
        torch.save({}, p)
    elif kind == "torch_no_tensors":
        p = tmp_path / "e.pt"
        torch.save({"epoch": 3, "optimizer": {"lr": 0.1}}, p)
    elif kind == "safetensors_empty":
        p = tmp_path / "e.safetensors"
        save_file({}, p)
    elif kind == "npz_empty":
        p = tmp_path / "e.npz"
        np.savez(p)
    else:
        p = tmp_path / "e.pth"
        p.write_bytes(b"")
    line = assert_one_line_error(capsys, p, "info", str(p))
    assert "no tensors" in line or "empty" in line


def test_non_tensor_entries_warn_and_continue(capsys, tmp_path):
    p = tmp_path / "n.pth"
    torch.save({"state_dict": {"fc.weight": torch.ones(2, 2)}, "best_prec1": 71.5, "arch": "x"}, p)
    rc, out, err = run_cli(capsys, "info", str(p), "--json", "-")
    doc = json.loads(out)
    assert rc == 0 and doc["n_tensors"] == 1
    assert any("best_prec1" in w for w in doc["warnings"])


def test_nan_inf_reported_not_fatal(capsys, tmp_path):
    w = torch.randn(10, 10)
    w[0, 0], w[1, 1], w[2, 2] = float("nan"), float("inf"), float("-inf")
    b = torch.randn(10).bfloat16()
    b[3] = float("nan")
    p = tmp_path / "nan.safetensors"
    save_file({"fc.weight": w, "fc.bias": b, "ok.weight": torch.ones(3, 3)}, p)
    rc, out, err = run_cli(capsys, "info", str(p), "--json", "-")
    assert rc == 0
    doc = json.loads(out)
    nf = {t["name"]: t["nonfinite"] for t in doc["tensors"]}
    assert nf == {"fc.weight": 3, "fc.bias": 1, "ok.weight": 0}
    assert doc["totals"]["nonfinite"] == 4
    assert any("non-finite" in x for x in doc["warnings"])
    rc, out, err = run_cli(capsys, "info", str(p))
    assert rc == 0 and "non-finite" in out
    assert main(["extract", str(p), "-o", str(tmp_path / "nan.h5")]) == 0


def test_debug_shows_traceback(capsys, tmp_path):
    p = tmp_path / "nope.safetensors"
    with pytest.raises(ParamstatError):
        main(["--debug", "info", str(p)])
    with pytest.raises(ParamstatError):
        main(["info", str(p), "--debug"])


def test_subprocess_exit_code_and_traceback(tmp_path):
    p = tmp_path / "bad.safetensors"
    p.write_bytes(b"\x10\x00")
    cmd = [sys.executable, "-m", "paramstat", "info", str(p)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1 and str(p) in r.stderr
    r = subprocess.run(cmd + ["--debug"], capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "Traceback" in r.stderr


def test_extract_refuses_overwrite(capsys, tmp_path):
    src = tmp_path / "m.safetensors"
    _good_safetensors(src)
    out = tmp_path / "o.h5"
    out.write_text("keep me")
    line = assert_one_line_error(capsys, out, "extract", str(src), "-o", str(out))
    assert "--force" in line and out.read_text() == "keep me"
    assert main(["extract", str(src), "-o", str(out), "--force"]) == 0
    assert out.read_bytes()[:4] == b"\x89HDF"


def test_sharded_index_missing_shard_and_corrupt_index(capsys, tmp_path):
    d = tmp_path / "hf"
    d.mkdir()
    save_file({"a.weight": torch.ones(2, 2)}, d / "model-00001-of-00002.safetensors")
    idx = d / "model.safetensors.index.json"
    idx.write_text(json.dumps({"weight_map": {"a.weight": "model-00001-of-00002.safetensors",
                                              "b.weight": "model-00002-of-00002.safetensors"}}))
    line = assert_one_line_error(capsys, idx, "info", str(d))
    assert "model-00002-of-00002.safetensors" in line and "missing" in line
    idx.write_text("{not json")
    assert "corrupt safetensors index" in assert_one_line_error(capsys, idx, "info", str(idx))


def test_torchscript_archive_read_without_code_or_trusted(capsys, tmp_path):
    import warnings

    p = tmp_path / "jit.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.save(torch.jit.script(torch.nn.Linear(3, 2)), p)
    rc, out, err = run_cli(capsys, "info", str(p), "--json", "-")   # code-free reader (test_sources_torchscript)
    assert rc == 0 and "warning" not in err
    assert {t["name"]: t["role"] for t in json.loads(out)["tensors"]} == {"weight": "linear", "bias": "bias"}
    rc, out, err = run_cli(capsys, "info", str(p), "--trust-pickle", "--json", "-")
    assert rc == 0 and "warning" in err
    assert {t["name"]: t["role"] for t in json.loads(out)["tensors"]} == {"weight": "linear", "bias": "bias"}
