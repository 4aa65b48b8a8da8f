"""`paramstat compare` end to end: JSON on stdout, rich report, plots, one-line user errors."""
from __future__ import annotations

import json

import pytest
import torch

from paramstat.cli import main


@pytest.fixture
def pair(tmp_path):
    from safetensors.torch import save_file

    torch.manual_seed(0)
    a = {"l1.weight": torch.randn(32, 16) * 0.1, "l1.bias": torch.zeros(32), "l2.weight": torch.randn(8, 32) * 0.1}
    b = {k: v.clone() for k, v in a.items()}
    b["l2.weight"] += 1e-3 * torch.randn(8, 32)
    pa, pb = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    save_file(a, pa)
    save_file(b, pb)
    return str(pa), str(pb), a, b


def test_json_stdout(pair, capsys):
    pa, pb, a, b = pair
    assert main(["compare", pa, pb, "--json", "-", "--no-progress"]) == 0
    out = json.loads(capsys.readouterr().out)  # nothing but JSON on stdout
    # only l2.weight moved; l1.weight (512 of the 768 parameters) kept A's values: a partial edit
    assert out["relation"] == "modified" and out["relation_matched"] == "fine-tuned"
    assert out["relation_detail"].startswith("1 of 2 parameter tensors changed (fine-tuned 1)")
    t = {x["name"]: x for x in out["tensors"]}
    want = float(torch.norm(b["l2.weight"] - a["l2.weight"]) / torch.norm(a["l2.weight"]))
    assert t["l2.weight"]["rel_change"] == pytest.approx(want, rel=1e-6)
    assert t["l1.weight"]["relation"] == "identical" and t["l1.weight"]["cosine"] == 1.0
    assert sorted(out["unchanged_while_others_moved"]) == ["l1.bias", "l1.weight"]


@pytest.mark.slow
def test_report_and_plots(pair, tmp_path, capsys):
    pa, pb, _, _ = pair
    d = tmp_path / "plots"
    assert main(["compare", pa, pb, "--plots", str(d), "--top", "3", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "fine-tuned" in out and "l2.weight" in out and "per layer type" in out
    assert (d / "rel_change.png").stat().st_size > 1000 and (d / "histograms.png").stat().st_size > 1000
    # no overwrite without --force
    assert main(["compare", pa, pb, "--plots", str(d), "--no-progress"]) == 2
    assert "--force" in capsys.readouterr().err


def test_missing_file_is_one_line_error(pair, tmp_path, capsys):
    pa, _, _, _ = pair
    assert main(["compare", pa, str(tmp_path / "nope.safetensors"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("paramstat compare: error:") and "\n" not in err


@pytest.mark.slow
def test_fresh_timm_seeds(capsys):
    """Two fresh inits of one timm architecture: same seed identical, other seed independent."""
    assert main(["compare", "test_resnet", "test_resnet", "--fresh", "--json", "-", "--no-progress",
                 "--deep", "none"]) == 0
    same = json.loads(capsys.readouterr().out)
    assert same["relation"] == "identical" and same["params_compared"] > 400_000
    assert main(["compare", "test_resnet", "test_resnet", "--fresh", "--seed-b", "1", "--json", "-",
                 "--no-progress", "--deep", "none"]) == 0
    other = json.loads(capsys.readouterr().out)
    assert other["relation"] == "independent"
    convs = [t for t in other["tensors"] if t["role"] == "conv" and t["numel"] >= 1000]
    assert convs and all(t["relation"] == "independent" for t in convs)
    # constant inits (BN weight 1 / bias 0, running stats) are the same in both seeds
    assert all(t["relation"] == "identical" for t in other["tensors"] if t["role"] in ("norm_bias", "running_stat"))
