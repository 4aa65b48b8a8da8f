"""paramstat.sources.load is the one way in: compare and fit go through it (issue 11)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import paramstat
from paramstat.errors import ParamstatError
from paramstat.record import Checkpoint


def _sd():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 4), nn.LayerNorm(4)).state_dict()


def test_load_takes_checkpoint_module_mapping():
    m = nn.Sequential(nn.Linear(8, 4))
    ck = paramstat.load(m)
    assert ck.source == "Sequential"
    assert paramstat.load(ck) is ck
    nested = paramstat.load({"state_dict": {"module." + k: v for k, v in _sd().items()}, "epoch": 3})
    assert nested.names() == list(_sd())
    npy = paramstat.load({"state_dict": {k: v.numpy() for k, v in _sd().items()}})
    assert npy.names() == list(_sd()) and np.array_equal(npy["0.weight"].read(), _sd()["0.weight"].numpy())
    with pytest.raises(ParamstatError):
        paramstat.load(3.5)


def test_compare_unwraps_a_nested_mapping_like_load():
    sd = _sd()
    res = paramstat.compare(sd, {"state_dict": dict(sd), "epoch": 3}, progress=False)
    d = res.to_dict()
    assert d["relation"] == "identical"
    assert d["only_in_a"] == [] and d["only_in_b"] == []


def test_load_hash_false_leaves_sha256_none(tmp_path):
    from safetensors.torch import save_file

    p = tmp_path / "w.safetensors"
    save_file({k: v.contiguous() for k, v in _sd().items()}, str(p))
    import hashlib

    assert paramstat.load(str(p)).provenance["sha256"] == hashlib.sha256(p.read_bytes()).hexdigest()
    fast = paramstat.load(str(p), hash=False)
    assert fast.provenance["sha256"] is None and fast.names() == paramstat.load(str(p)).names()


@pytest.mark.slow
def test_fit_reads_timm_names_through_load(monkeypatch):
    """`fit` used to refuse anything that is not an existing file; a timm name now reaches load()
    (here the pretrained weights are replaced by the fresh init, as if they were in the cache)."""
    pytest.importorskip("timm")
    from paramstat.init import profile
    from paramstat.sources.remote import timm as timm_source

    seen = []

    def fake_pretrained(name):
        seen.append(name)
        return timm_source.load_fresh(name, 0)

    monkeypatch.setattr(timm_source, "load_pretrained", fake_pretrained)
    ck, prov = profile.read_checkpoint("test_resnet")
    assert seen == ["test_resnet"] and isinstance(ck, Checkpoint)
    assert prov["source"] == "test_resnet" and prov["format"] == ck.format and "sha256" not in prov
    prof = profile.fit_profile(["test_resnet"])
    assert seen == ["test_resnet"] * 2 and prof["roles"]
