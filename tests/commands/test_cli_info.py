"""`paramstat info` / `paramstat extract` on the issue's four inputs: fresh timm resnet18, the packaged
EfficientNet-Lite0 .pth, a sharded safetensors folder, a nested {'state_dict': {'module.…'}} checkpoint.
Oracles: torch.load / the module's own parameters, counted independently."""
from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from paramstat.cli import main
from paramstat.sources import load


def info_json(capsys, *argv):
    assert main(["info", *argv, "--json", "-"]) == 0
    return json.loads(capsys.readouterr().out)


def extract_and_check(capsys, src_argv, out, oracle: dict):
    """extract, then compare every dataset bit for bit with the oracle tensors (name -> torch tensor)."""
    assert main(["extract", *src_argv, "-o", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    back = load(str(out))
    assert sorted(back.names()) == sorted(oracle)
    for r in back:
        t = oracle[r.name]
        ref = t.view(torch.uint16).numpy() if t.dtype == torch.bfloat16 else t.numpy()
        got = np.asarray(r.read())
        assert got.shape == ref.shape and got.dtype.itemsize == ref.dtype.itemsize, r.name
        assert got.tobytes() == ref.tobytes(), r.name  # bit for bit
    return back


@pytest.mark.slow
def test_effnet_lite0(capsys, tmp_path, effnet_lite0_path):
    sd = torch.load(effnet_lite0_path, weights_only=True, map_location="cpu")
    doc = info_json(capsys, effnet_lite0_path)
    assert doc["format"] == "torch" and doc["n_tensors"] == len(sd)
    assert [t["name"] for t in doc["tensors"]] == list(sd)
    oracle_params = sum(v.numel() for k, v in sd.items() if v.is_floating_point()
                        and not k.endswith(("running_mean", "running_var")))
    assert doc["n_params"] == oracle_params == 4_652_008
    assert doc["totals_by_role"]["dwconv"]["tensors"] == 16
    assert doc["totals"]["nonfinite"] == 0
    dw = next(t for t in doc["tensors"] if t["name"] == "_blocks.0._depthwise_conv.weight")
    assert (dw["role"], dw["fan_in"], dw["fan_out"], dw["groups"]) == ("dwconv", 9, 288, 32)
    assert doc["provenance"]["sha256"] == __import__("hashlib").sha256(open(effnet_lite0_path, "rb").read()).hexdigest()
    back = extract_and_check(capsys, [effnet_lite0_path], tmp_path / "e.h5", sd)
    assert back.names() == list(sd)
    assert back["_blocks.0._depthwise_conv.weight"].role == "dwconv"
    with h5py.File(tmp_path / "e.h5") as f:
        assert f.attrs["format"] == "torch" and len(f.attrs["sha256"]) == 64
        assert f["_blocks/0/_depthwise_conv/weight"].attrs["groups"] == 32


@pytest.mark.slow
def test_fresh_resnet18(capsys, tmp_path):
    timm = pytest.importorskip("timm")
    torch.manual_seed(5)
    ref = timm.create_model("resnet18", pretrained=False).state_dict()
    doc = info_json(capsys, "resnet18", "--fresh", "--seed", "5")
    assert doc["format"] == "timm" and doc["n_tensors"] == len(ref) == 122
    assert doc["n_params"] == 11_689_512
    assert doc["provenance"]["seed"] == 5 and doc["provenance"]["pretrained"] is False
    assert doc["provenance"]["timm_version"] == timm.__version__
    assert doc["totals_by_role"]["conv"] == {"tensors": 20, "numel": 11_166_912, "nonfinite": 0}
    c1 = doc["tensors"][0]
    assert (c1["name"], c1["role"], c1["fan_in"], c1["fan_out"], c1["module_type"]) == \
        ("conv1.weight", "conv", 147, 3136, "Conv2d")
    # no compression here (speed; gzip is covered by the other inputs): random weights barely compress
    extract_and_check(capsys, ["resnet18", "--fresh", "--seed", "5", "--compression", "none"], tmp_path / "r.h5", ref)
    with h5py.File(tmp_path / "r.h5") as f:
        assert f.attrs["arch"] == "resnet18" and f.attrs["seed"] == 5 and not f.attrs["pretrained"]


def test_sharded_folder(capsys, tmp_path, tiny_cnn_state_dict):
    sd = {k: v.to(torch.bfloat16) if k.endswith("weight") and v.dim() > 1 else v
          for k, v in tiny_cnn_state_dict.items()}
    folder = tmp_path / "hf"
    folder.mkdir()
    keys = list(sd)
    wm = {}
    for i, part in enumerate((keys[:6], keys[6:12], keys[12:])):
        fn = f"model-{i + 1:05d}-of-00003.safetensors"
        save_file({k: sd[k] for k in part}, folder / fn)
        wm.update(dict.fromkeys(part, fn))
    (folder / "model.safetensors.index.json").write_text(json.dumps({"weight_map": wm}))
    doc = info_json(capsys, str(folder))
    assert doc["format"] == "safetensors-sharded" and doc["n_tensors"] == len(sd)
    dtypes = {t["name"]: t["dtype"] for t in doc["tensors"]}
    assert dtypes["0.weight"] == "bfloat16" and dtypes["1.running_var"] == "float32"
    assert doc["n_params"] == sum(v.numel() for k, v in sd.items() if v.is_floating_point()
                                  and "running" not in k)
    extract_and_check(capsys, [str(folder)], tmp_path / "s.h5", sd)


def test_nested_state_dict(capsys, tmp_path, tiny_cnn_state_dict):
    p = tmp_path / "ckpt.pth.tar"
    torch.save({"state_dict": {f"module.{k}": v for k, v in tiny_cnn_state_dict.items()},
                "best_prec1": 76.15, "epoch": 90}, p)
    doc = info_json(capsys, str(p))
    assert [t["name"] for t in doc["tensors"]] == list(tiny_cnn_state_dict)
    assert any("best_prec1" in w for w in doc["warnings"])
    assert doc["totals_by_role"]["dwconv"]["numel"] == 8 * 9
    extract_and_check(capsys, [str(p)], tmp_path / "n.h5", tiny_cnn_state_dict)
    # the table view prints the same totals
    assert main(["info", str(p)]) == 0
    out = capsys.readouterr().out
    assert "totals by role" in out and "dwconv" in out and "module." in out  # warning names the prefix


def test_info_json_to_file_and_no_values(capsys, tmp_path, tiny_cnn_state_dict):
    p = tmp_path / "m.pt"
    torch.save(tiny_cnn_state_dict, p)
    assert main(["info", str(p), "--json", str(tmp_path / "i.json"), "--no-values", "--totals-only"]) == 0
    doc = json.loads((tmp_path / "i.json").read_text())
    assert doc["tensors"][0]["nonfinite"] is None and doc["n_tensors"] == len(tiny_cnn_state_dict)


def test_help_is_fast():
    import subprocess
    import sys
    import time

    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", "import sys; from paramstat.cli import main; main(['info', '--help'])"],
                       capture_output=True, text=True, timeout=60)
    assert "SOURCE" in r.stdout
    assert time.perf_counter() - t < 5
    r = subprocess.run([sys.executable, "-c", "import paramstat.cli, paramstat.commands.info, "
                        "paramstat.commands.extract, sys; print('torch' in sys.modules, 'h5py' in sys.modules)"],
                       capture_output=True, text=True, timeout=60)
    assert r.stdout.split() == ["False", "False"]
