"""`paramstat scan` end to end on a tiny checkpoint file with the real verdict model: JSON schema, the
stdout-clean rule for `--json -`, --details, --h5 round trip of the statistics, --plots, error paths."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from paramstat.cli import main  # noqa: E402


@pytest.fixture(scope="module")
def tiny_pt(tmp_path_factory):
    torch.manual_seed(0)
    net = torch.nn.Sequential()
    net.add_module("conv", torch.nn.Conv2d(3, 32, 3))
    net.add_module("bn", torch.nn.BatchNorm2d(32))
    net.add_module("fc", torch.nn.Linear(128, 10))
    p = tmp_path_factory.mktemp("ck") / "tiny.pt"
    sd = {f"module.{k}": v for k, v in net.state_dict().items()}
    torch.save({"state_dict": sd, "epoch": 3}, p)
    return p


def _run(capsys, *argv):
    rc = main(["scan", *map(str, argv)])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


@pytest.mark.slow
def test_json_stdout_schema_and_nothing_else(tiny_pt):
    env = dict(os.environ, PARAMSTAT_PROGRESS="1")          # force the progress bar: it must go to stderr
    cp = subprocess.run([sys.executable, "-m", "paramstat", "scan", str(tiny_pt), "--json", "-"],
                        capture_output=True, text=True, env=env, timeout=120)
    assert cp.returncode == 0, cp.stderr
    d = json.loads(cp.stdout)                                # the whole of stdout is one JSON document
    assert d["verdict"] in ("trained", "untrained", "mixed")
    assert 0.0 <= d["score"] <= 1.0
    assert d["n_params"] == 32 * 27 + 32 + 32 + 32 + 1280 + 10
    names = [t["name"] for t in d["tensors"]]
    assert names[:3] == ["conv.weight", "conv.bias", "bn.weight"]       # 'module.' removed
    assert all(not n.startswith("module.") for n in names)
    by = {t["name"]: t for t in d["tensors"]}
    assert by["conv.weight"]["stored_name"] == "module.conv.weight"
    for t in d["tensors"]:
        assert {"name", "role", "shape", "dtype", "verdict", "score", "evidence", "stats"} <= set(t)
        assert t["verdict"] in ("trained", "untrained", "undetermined", "skipped")
        assert (t["score"] is None) == (t["verdict"] == "skipped")
    assert by["conv.weight"]["shape"] == [32, 3, 3, 3] and by["conv.weight"]["role"] == "conv"
    assert by["bn.num_batches_tracked"]["verdict"] == "skipped"
    ev = by["fc.weight"]["evidence"]
    assert ev and {"feature", "value", "contribution", "text"} <= set(ev[0])
    contrib = [abs(e["contribution"]) for e in ev if e["contribution"] is not None]
    assert contrib == sorted(contrib, reverse=True)


def test_report_details_and_json_file(tiny_pt, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "220")
    out = tmp_path / "r.json"
    rc, stdout, err = _run(capsys, tiny_pt, "--details", "--json", out, "--no-progress")
    assert rc == 0
    assert "verdict:" in stdout and "layer type" in stdout and "Conv weight" in stdout
    assert "bn.running_var" in stdout and "fc.bias" in stdout                 # --details: every tensor
    d = json.loads(out.read_text())
    assert len(d["tensors"]) == 9
    rc, stdout2, _ = _run(capsys, tiny_pt, "--no-progress")
    assert "bn.running_var" not in stdout2                                    # no --details: not listed
    rc, _, err = _run(capsys, tiny_pt, "--json", out, "--no-progress")        # exists, no --force
    assert rc == 2 and "exists" in err


def test_h5_round_trip_of_stats(tiny_pt, tmp_path, capsys):
    h5py = pytest.importorskip("h5py")
    import paramstat

    js, h5 = tmp_path / "r.json", tmp_path / "w.h5"
    rc, _, _ = _run(capsys, tiny_pt, "--h5", h5, "--json", js, "--no-progress")
    assert rc == 0
    d = {t["name"]: t for t in json.loads(js.read_text())["tensors"]}
    with h5py.File(h5, "r") as f:
        ds = f["conv/weight"]
        assert ds.attrs["stats.verdict"] == d["conv.weight"]["verdict"]
        assert ds.attrs["stats.score"] == pytest.approx(d["conv.weight"]["score"], rel=1e-12)
        m = d["conv.weight"]["stats"]["moments"]
        assert ds.attrs["stats.stats.moments.std"] == pytest.approx(m["std"], rel=1e-12)
        b = d["fc.weight"]["stats"]["bits"]["frac_0_7"]["max_abs_z"]
        assert f["fc/weight"].attrs["stats.stats.bits.frac_0_7.max_abs_z"] == pytest.approx(b, rel=1e-12)
    back = paramstat.load(str(h5))
    ref = torch.load(tiny_pt, weights_only=True)["state_dict"]
    np.testing.assert_array_equal(back["conv.weight"].read(), ref["module.conv.weight"].numpy())
    again = paramstat.scan(str(h5), progress=False)                             # the .h5 is a source too
    assert {t.name: (t.verdict, t.score) for t in again.tensors} == \
        {n: (t["verdict"], t["score"]) for n, t in d.items()}
    rc, _, err = _run(capsys, tiny_pt, "--h5", h5, "--no-progress")            # no overwrite
    assert rc == 2 and "exists" in err


@pytest.mark.slow
def test_plots_dir(tiny_pt, tmp_path, capsys):
    rc, _, err = _run(capsys, tiny_pt, "--plots", tmp_path / "p", "--no-progress")
    assert rc == 0, err
    names = sorted(os.listdir(tmp_path / "p"))
    assert names == ["bits_heatmap.png", "hist.png", "scores.png", "spectra.png"]
    for n in names:
        assert (tmp_path / "p" / n).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("argv, needle", [
    (["/nonexistent/x.safetensors"], "not found"),
    (["--checkpoint", "/nonexistent/w.pth"], "/nonexistent/w.pth"),
])
def test_bad_source_is_one_line(argv, needle, capsys):
    rc, out, err = _run(capsys, *argv)
    assert rc == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("paramstat scan: error:") and needle in lines[0]


def test_corrupt_file_is_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x05\x00garbage")
    rc, out, err = _run(capsys, bad)
    assert rc == 2 and out == "" and len(err.strip().splitlines()) == 1


def test_python_api_module_and_dataframe():
    import paramstat

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.Linear(32, 4))
    r1 = paramstat.scan(net, progress=False)
    r2 = paramstat.scan(net, progress=False)          # still callable after the submodule is imported
    assert r1.verdict == r2.verdict and r1.n_params == 64 * 32 + 32 + 32 * 4 + 4
    df = r1.to_dataframe()
    assert list(df["name"]) == ["0.weight", "0.bias", "1.weight", "1.bias"]
    assert list(df["shape"]) == [(32, 64), (32,), (4, 32), (4,)]
    assert df["score"].between(0, 1).all() and set(df["verdict"]) <= {"trained", "untrained", "undetermined"}
    assert r1.timings["analysis"] > 0 and r1.timings["total"] >= r1.timings["analysis"]


def test_existing_outputs_refused_before_the_work(tiny_pt, tmp_path, capsys, monkeypatch):
    import paramstat.verdict as V

    called = []
    monkeypatch.setattr(V, "scan", lambda *a, **k: called.append(1))
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "hist.png").write_bytes(b"x")
    (tmp_path / "r.json").write_text("{}")
    for extra in (["--json", tmp_path / "r.json"], ["--plots", tmp_path / "p"], ["--h5", tmp_path / "r.json"]):
        rc, out, err = _run(capsys, tiny_pt, *extra)
        assert rc == 2 and "exists" in err and "--force" in err
    assert called == []


@pytest.mark.slow
def test_resnet18_layer_types_match_the_seed_table():
    """The seed's Table 3 lists ResNet-18 as 20 Conv, 1 FC weight, 1 FC bias, 20 BN weight, 20 BN bias."""
    timm = pytest.importorskip("timm")
    from collections import Counter

    from paramstat.sources import checkpoint_from_module
    from paramstat.verdict.layer_types import layer_types

    ck = checkpoint_from_module(timm.create_model("resnet18", pretrained=False))
    c = Counter(layer_types(ck.records).values())
    assert (c["Conv weight"], c["FC weight"], c["FC bias"], c["BN weight"], c["BN bias"]) == (20, 1, 1, 20, 20)
    assert c["BN running_mean"] == c["BN running_var"] == c["BN batch count"] == 20
