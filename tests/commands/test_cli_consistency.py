"""CLI consistency: no command overwrites an output without --force (JSON included), extract refuses a
non-HDF5 output name, `info` is readable at 80 columns, hints fit their case (truncated archives are
corruption, not a safety or format matter; hf-hub: names go to timm), native inits default to the packaged
profile, plot folders are created, evidence summaries show numbers, folder sources say which file they
read, every SOURCE help lists the same formats, and --model with no matching tensor fails."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from paramstat.cli import build_parser, main


def run_cli(capsys, *argv):
    rc = main([str(a) for a in argv])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def one_line_error(capsys, *argv) -> str:
    rc, _out, err = run_cli(capsys, *argv)
    lines = err.strip().splitlines()
    assert rc == 2 and len(lines) == 1, err
    assert "Traceback" not in err and "internal error" not in err
    return lines[0]


@pytest.fixture
def tiny_st(tmp_path) -> Path:
    p = tmp_path / "tiny.safetensors"
    g = torch.Generator().manual_seed(0)
    save_file({"fc.weight": torch.randn(20, 30, generator=g), "fc.bias": torch.randn(20, generator=g)}, p)
    return p


# ------------------------------------------------------------------------------------- 1. no silent overwrite

def _refusals(src: Path, tmp: Path):
    """(command line with --json KEEP) for every command that writes JSON; KEEP is substituted."""
    return {
        "info": ["info", src, "--json"],
        "extract": ["extract", src, "-o", tmp / "new.h5", "--json"],
        "fit": ["fit", src, "-o", tmp / "prof.json", "--json"],
        "generate": ["generate", "mlp:4,3", "-o", tmp / "g.safetensors", "--json"],
        "probe": ["probe", "mlp:2x4", "--json"],
        "starttrain": ["starttrain", "--json"],
    }


@pytest.mark.parametrize("cmd", ["info", "extract", "fit", "generate", "probe", "starttrain"])
def test_json_output_is_never_overwritten_without_force(capsys, tmp_path, tiny_st, cmd):
    keep = tmp_path / "keep.json"
    keep.write_text("KEEP\n")
    argv = _refusals(tiny_st, tmp_path)[cmd] + [keep]
    line = one_line_error(capsys, *argv)
    assert str(keep) in line and "output exists" in line and "--force" in line
    assert keep.read_text() == "KEEP\n"
    # refused before any work: no other output was written, no temp file left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["keep.json", tiny_st.name])


def test_json_force_overwrites_and_special_files_are_written_into(capsys, tmp_path, tiny_st):
    keep = tmp_path / "keep.json"
    keep.write_text("KEEP\n")
    rc, _out, _err = run_cli(capsys, "info", tiny_st, "--json", keep, "--force")
    assert rc == 0
    doc = json.loads(keep.read_text())
    assert doc["n_tensors"] == 2 and doc["n_params"] == 20 * 30 + 20
    rc, _out, err = run_cli(capsys, "info", tiny_st, "--json", "/dev/null")
    assert rc == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["keep.json", tiny_st.name])


def test_write_json_refuses_unless_forced(tmp_path, capsys):
    from paramstat.errors import ParamstatError
    from paramstat.report.jsonout import write_json

    p = tmp_path / "a.json"
    write_json({"x": float("nan")}, str(p))
    assert json.loads(p.read_text()) == {"x": None}
    with pytest.raises(ParamstatError, match="output exists"):
        write_json({"x": 1}, str(p))
    assert json.loads(p.read_text()) == {"x": None}
    write_json({"x": 1}, str(p), force=True)
    assert json.loads(p.read_text()) == {"x": 1}
    write_json({"y": 2}, "-")
    assert json.loads(capsys.readouterr().out) == {"y": 2}


# ------------------------------------------------------------------------------ 2. extract writes only .h5

@pytest.mark.parametrize("name", ["out.safetensors", "out.pth", "out"])
def test_extract_refuses_non_h5_output_name(capsys, tmp_path, tiny_st, name):
    out = tmp_path / name
    line = one_line_error(capsys, "extract", tiny_st, "-o", out)
    assert "extract writes HDF5: name the output .h5" in line and str(out) in line
    assert not out.exists()


def test_extract_h5_round_trip(capsys, tmp_path, tiny_st):
    out = tmp_path / "out.HDF5"
    rc, _o, err = run_cli(capsys, "extract", tiny_st, "-o", out)
    assert rc == 0, err
    from safetensors.numpy import load_file

    ref = load_file(str(tiny_st))
    with h5py.File(out) as f:
        assert np.array_equal(f["fc/weight"][()], ref["fc.weight"])


# ------------------------------------------------------------------------------------ 3. info at 80 columns

def _wide_summary():
    from paramstat.report.info_summary import summarize
    from paramstat.sources import load

    g = torch.Generator().manual_seed(0)
    sd = {
        "encoder.blocks.11.attention.self_attention.query_key_value.weight": torch.randn(96, 32, generator=g),
        "encoder.blocks.11.depthwise_convolution.weight": torch.randn(32, 1, 3, 3, generator=g),
        "encoder.blocks.11.norm.running_var": torch.rand(32, generator=g),
        "head.classifier.weight": torch.randn(1000, 1280, generator=g).to(torch.bfloat16),
    }
    sd["head.classifier.weight"][0, 0] = float("nan")
    return summarize(load(sd), progress=False)


def test_info_table_readable_at_80_columns():
    from rich.console import Console

    from paramstat.report.info_table import print_info

    info = _wide_summary()
    con = Console(record=True, width=80)
    print_info(info, console=con)
    lines = con.export_text().splitlines()
    assert max(len(line) for line in lines if not line.startswith("warning")) <= 80
    head = next(i for i, line in enumerate(lines) if " name " in line and "role" in line)
    a, b = lines[head].index("name"), lines[head].index("role")
    names, firsts = {}, {}
    for line in lines[head + 2:]:
        if not line.strip() or line.lstrip().startswith(("totals", "┏")):
            break
        if line[:a].strip():
            cur = int(line[:a])
            firsts[cur] = line.split()
        names[cur] = names.get(cur, "") + line[a:b].strip()
    for t in info["tensors"]:
        assert names[t["depth"]] == t["name"]  # folded, never truncated
        cells = firsts[t["depth"]]  # role, fans and size whole on the row's first line
        assert t["role"] in cells and f"{t['numel']:,}" in cells, cells
        for k in ("fan_in", "fan_out"):
            assert t[k] is None or f"{t[k]:,}" in cells, cells
    dw = next(t for t in info["tensors"] if "depthwise" in t["name"])
    assert (dw["role"], dw["fan_in"], dw["fan_out"], dw["groups"]) == ("dwconv", 9, 288, 32)
    text = "\n".join(lines)
    assert "bfloat16" in text and "NaN/Inf" in text  # mixed dtypes and a NaN: both columns shown


def test_info_honours_columns_when_piped(capsys, monkeypatch, tiny_st):
    monkeypatch.setenv("COLUMNS", "64")
    rc, out, _err = run_cli(capsys, "info", tiny_st)
    assert rc == 0
    assert 40 < max(len(line) for line in out.splitlines()) <= 64
    assert "all float32" in out and "all finite" in out


# --------------------------------------------------------------------------------------- 4. fitting hints

def _truncate(src: Path, dst: Path) -> Path:
    b = src.read_bytes()
    dst.write_bytes(b[: len(b) // 2])
    return dst


def test_truncated_torchscript_is_corruption_not_safety(capsys, tmp_path):
    p = tmp_path / "m.jit"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.save(torch.jit.script(torch.nn.Linear(64, 64)), str(p))
    rc, out, _e = run_cli(capsys, "info", p, "--json", "-")
    assert rc == 0 and json.loads(out)["format"] == "torchscript"
    bad = _truncate(p, tmp_path / "trunc.jit")
    line = one_line_error(capsys, "info", bad)
    assert "truncated or corrupt TorchScript archive" in line and "--trust-pickle" not in line


def test_truncated_keras_h5_does_not_point_to_extract(capsys, tmp_path):
    p = tmp_path / "k.h5"
    with h5py.File(p, "w") as f:  # Keras 2 save_weights layout
        f.attrs["layer_names"] = np.array([b"dense"])
        g = f.create_group("dense")
        g.attrs["weight_names"] = np.array([b"dense/kernel:0"])
        g.create_dataset("dense/kernel:0", data=np.random.default_rng(0).normal(size=(256, 128)).astype("f4"))
    rc, out, _e = run_cli(capsys, "info", p, "--json", "-")
    assert rc == 0 and json.loads(out)["format"] == "keras-h5"
    line = one_line_error(capsys, "info", _truncate(p, tmp_path / "trunc.h5"))
    assert "truncated" in line and "paramstat extract" not in line


def test_fit_on_truncated_pth_says_truncated(capsys, tmp_path):
    p = tmp_path / "w.pth"
    torch.save({"fc.weight": torch.randn(64, 64)}, p)
    line = one_line_error(capsys, "fit", _truncate(p, tmp_path / "t.pth"), "-o", tmp_path / "prof.json")
    assert "truncated or corrupt" in line and "plain state_dicts" not in line
    assert not (tmp_path / "prof.json").exists()


@pytest.mark.parametrize("fresh", [True, False])
@pytest.mark.slow
def test_hf_hub_name_goes_to_timm_and_says_offline(capsys, tmp_path, monkeypatch, fresh):
    monkeypatch.setenv("PARAMSTAT_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    line = one_line_error(capsys, "scan", "hf-hub:timm/resnet18.a1_in1k", *(["--fresh"] if fresh else []))
    assert "cannot be reached" in line and "file not found" not in line
    assert "hf-hub:timm/resnet18.a1_in1k" in line


# --------------------------------------------------------------------- 5. default profile, plot folders

@pytest.mark.slow
def test_probe_native_uses_packaged_profile_and_creates_plot_folder(capsys, tmp_path):
    d = tmp_path / "new" / "plots"
    rc, out, err = run_cli(capsys, "probe", "mlp:2x16", "--init", "native", "--batch", "8", "--plots", d)
    assert rc == 0, err
    assert "profile: default (packaged:" in out and (d / "probe.png").stat().st_size > 1000
    rc, _out, _err = run_cli(capsys, "probe", "mlp:2x16", "--init", "native", "--batch", "8", "--plots", d)
    assert rc == 2  # probe.png exists now: refused without --force


@pytest.mark.slow
def test_starttrain_native_uses_packaged_profile(capsys):
    rc, out, err = run_cli(capsys, "starttrain", "--arch", "mlp:1x8", "--inits", "he_normal,native", "--seeds",
                           "0", "--epochs", "0.2", "--n-train", "64", "--json", "-")
    assert rc == 0, err
    d = json.loads(out)
    assert d["config"]["profile"] == "default"
    assert sorted({r["init"] for r in d["runs"]}) == ["he_normal", "native"]


# ----------------------------------------------------------------------- 6. evidence summaries show numbers

def test_generate_check_evidence_has_numbers_not_placeholders():
    from paramstat.lab.check import merge_numbers

    assert merge_numbers(["max |x| is 0.920x the U(+-1/sqrt(fan_in)) bound"]) == \
        "max |x| is 0.920x the U(+-1/sqrt(fan_in)) bound"
    assert merge_numbers(["top eigenvalue 1.5x the MP edge", "top eigenvalue 12.25x the MP edge",
                   "top eigenvalue 0.75x the MP edge"]) == "top eigenvalue 0.75..12.25x the MP edge"
    assert merge_numbers(["all 64 values exactly 0", "all 1,024 values exactly 0"]) == "all 64..1,024 values exactly 0"


def test_generate_check_output_has_no_placeholders(capsys):
    rc, out, err = run_cli(capsys, "generate", "mlp:64,64,10", "--check")
    assert rc in (0, 1), err
    assert "#x" not in out and "(+#" not in out and "profile: default" in out


# --------------------------------------------------------------------------------- 7. folder sources

def test_folder_with_one_safetensors_names_what_it_read(capsys, tmp_path, tiny_st):
    d = tmp_path / "data"
    d.mkdir()
    (d / "w.safetensors").write_bytes(tiny_st.read_bytes())
    for n in ("w.jit", "w.onnx", "w_half.onnx"):
        (d / n).write_bytes(b"not read")
    rc, out, _e = run_cli(capsys, "info", d, "--json", "-")
    assert rc == 0
    doc = json.loads(out)
    assert doc["n_params"] == 620
    w = doc["warnings"][0]
    assert "read w.safetensors" in w and "ignored: w.jit, w.onnx, w_half.onnx" in w
    (d / "v.safetensors").write_bytes(tiny_st.read_bytes())
    line = one_line_error(capsys, "info", d)
    assert "2 weights files" in line and "v.safetensors" in line and "w.safetensors" in line


# ------------------------------------------------------------------------------------------- 8. help

def test_every_source_help_lists_the_same_formats():
    from paramstat import formats
    from paramstat.sources import dispatch

    assert dispatch.SUPPORTED is formats.SUPPORTED and dispatch.KNOWN_EXT is formats.KNOWN_EXT
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for cmd in ("info", "extract", "scan", "fit"):
        text = "".join(sub.choices[cmd].format_help().split())  # argparse wraps at hyphens too
        for token in formats.ST_EXT + formats.TS_EXT + formats.ONNX_EXT + formats.KERAS_EXT + formats.NPZ_EXT + \
                (".pt", ".pth", ".bin", ".ckpt", ".h5", "pypi:", "hf-hub:", "index.json"):
            assert token in text, (cmd, token)


# --------------------------------------------------------------------- 9. --model with nothing matching

@pytest.mark.slow   # 2-4 s: kept out of the fast lane
def test_model_with_no_matching_tensor_fails(capsys, tmp_path, tiny_st):
    line = one_line_error(capsys, "scan", "--model", "resnet18", tiny_st)
    assert "no tensor matches resnet18" in line and str(tiny_st) in line and "drop --model" in line
    # one name in common is enough: roles for it from the architecture, a warning for the rest
    p = tmp_path / "part.safetensors"
    save_file({"fc.weight": torch.randn(1000, 512), "extra.weight": torch.randn(8, 8)}, p)
    rc, out, err = run_cli(capsys, "info", "--model", "resnet18", p, "--json", "-")
    assert rc == 0, err
    roles = {t["name"]: (t["role"], t["fan_in"]) for t in json.loads(out)["tensors"]}
    assert roles["fc.weight"] == ("linear", 512)
