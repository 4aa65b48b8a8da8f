"""--model with a checkpoint whose classifier has another number of classes (a fine-tune): the roles come
from the architecture built with that num_classes (sources.align.head_size), by name or by position."""
from __future__ import annotations

import pytest
import torch

import paramstat
from paramstat.sources.align import head_size


def test_head_size_hand_cases():
    arch = [(64, 3, 7, 7), (64,), (1000, 512), (1000,)]
    head = [False, False, True, True]
    assert head_size([(64, 3, 7, 7), (64,), (10, 512), (10,)], arch, head) == 10
    assert head_size(arch, arch, head) is None                                   # nothing differs
    assert head_size([(64, 3, 7, 7), (64,), (10, 512), (12,)], arch, head) is None   # two sizes
    assert head_size([(64, 3, 7, 7), (64,), (10, 256), (10,)], arch, head) is None   # in_features differ
    assert head_size([(32, 3, 7, 7), (64,), (10, 512), (10,)], arch, head) is None   # a body tensor differs
    assert head_size([(64, 3, 7, 7), (10, 512), (10,)], arch, head) is None          # another length


@pytest.mark.slow
def test_timm_named_finetune_with_10_classes(tmp_path):
    pytest.importorskip("timm")
    import timm

    m = timm.create_model("resnet18", pretrained=False, num_classes=10)
    p = tmp_path / "r18_10.pt"
    torch.save(m.state_dict(), p)
    ck = paramstat.load(None, model="resnet18", checkpoint=str(p))
    assert ck.provenance["num_classes"] == 10
    fc = {r.name: r for r in ck.records}["fc.weight"]
    assert (fc.role, fc.fan_in, fc.fan_out) == ("linear", 512, 10)
    assert not any("differ in shape" in w for w in ck.warnings)
    assert any("10 outputs (resnet18 has 1000)" in w for w in ck.warnings)
    # a body tensor of another shape is not a head change: roles stay resnet18's, with the shape warning
    sd = m.state_dict()
    sd["layer1.0.conv1.weight"] = torch.zeros(64, 64, 1, 1)
    torch.save(sd, p)
    ck = paramstat.load(None, model="resnet18", checkpoint=str(p))
    assert "num_classes" not in ck.provenance
    assert any("differ in shape" in w for w in ck.warnings)


@pytest.mark.slow
def test_foreign_names_finetune_is_aligned_by_position_and_mixed(tmp_path, effnet_lite0_path):
    pytest.importorskip("timm")
    from paramstat.report.html.examples import new_head_finetune

    p = new_head_finetune(effnet_lite0_path, tmp_path / "lite0_10.pth")
    res = paramstat.scan(None, model="efficientnet_lite0", checkpoint=str(p), progress=False)
    assert res.provenance["num_classes"] == 10
    assert "position" in res.provenance["roles_from"]
    fc = {t.name: t for t in res.tensors}["_fc.weight"]
    assert fc.role == "linear" and fc.verdict == "untrained"
    assert res.verdict == "mixed" and "_fc.weight" in res.untrained


@pytest.mark.slow
def test_head_rebuild_hashes_the_file_once(tmp_path, monkeypatch):
    import hashlib

    import timm

    from paramstat.sources import build

    p = tmp_path / "r18_10.pt"
    torch.save(timm.create_model("resnet18", pretrained=False, num_classes=10).state_dict(), p)
    calls = []
    real = build.sha256_file
    monkeypatch.setattr(build, "sha256_file", lambda path, *a, **k: calls.append(path) or real(path, *a, **k))
    ck = paramstat.load(None, model="resnet18", checkpoint=str(p))
    assert ck.provenance["num_classes"] == 10 and len(calls) == 1
    assert ck.provenance["sha256"] == hashlib.sha256(p.read_bytes()).hexdigest()
