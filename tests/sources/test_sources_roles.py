"""Roles and fans: from live modules (oracle: torch.nn.init._calculate_fan_in_and_fan_out and the module's
own attributes) and from names/shapes alone (oracle: the roles the architecture gives the same keys)."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn
from hypothesis import given, settings
from hypothesis import strategies as st

from paramstat.sources import checkpoint_from_module, infer_roles, role_map
from paramstat.sources.roles import torch_fans


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 7), min_size=2, max_size=5))
def test_torch_fans_match_torch(shape):
    w = torch.empty(shape)
    assert torch_fans(tuple(shape)) == nn.init._calculate_fan_in_and_fan_out(w)


def test_tiny_cnn_records(tiny_cnn):
    ck = checkpoint_from_module(tiny_cnn, "tiny")
    assert ck.names() == list(tiny_cnn.state_dict().keys())  # module order == state_dict order
    roles = {r.name: r.role for r in ck}
    assert roles["0.weight"] == "conv" and roles["0.bias"] == "bias"
    assert roles["3.weight"] == "dwconv"
    assert roles["1.weight"] == "norm_weight" and roles["1.bias"] == "norm_bias"
    assert roles["1.running_var"] == "running_stat" and roles["1.num_batches_tracked"] == "running_stat"
    assert roles["8.weight"] == "linear"
    r0, r3, r8 = ck["0.weight"], ck["3.weight"], ck["8.weight"]
    assert (r0.fan_in, r0.fan_out, r0.groups) == (27, 72, 1)
    # depthwise: torch divides only fan_in by groups (in/groups * k*k = 1*9), fan_out = out*k*k = 72
    assert (r3.fan_in, r3.fan_out, r3.groups) == (9, 72, 8)
    assert (r8.fan_in, r8.fan_out) == (8, 10)
    assert ck["0.bias"].fan_in == 27  # a bias carries its layer's fans
    assert [r.depth for r in ck] == list(range(len(ck)))
    assert r3.module_type == "Conv2d" and ck["1.weight"].module_type == "BatchNorm2d"
    assert not ck["1.num_batches_tracked"].analysable
    # readers return the live values
    assert (ck["0.weight"].read() == tiny_cnn[0].weight.detach().numpy()).all()
    assert ck.n_params == sum(p.numel() for p in tiny_cnn.parameters())


def test_multihead_attention_and_tied_weights():
    mha = nn.MultiheadAttention(16, 2)
    ck = checkpoint_from_module(mha)
    assert {r.name: r.role for r in ck} == {
        "in_proj_weight": "attn_in_proj", "in_proj_bias": "bias", "out_proj.weight": "linear",
        "out_proj.bias": "bias"}
    assert (ck["in_proj_weight"].fan_in, ck["in_proj_weight"].fan_out) == (16, 48)

    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(20, 4)
            self.head = nn.Linear(4, 20, bias=False)
            self.head.weight = self.emb.weight

    ck = checkpoint_from_module(Tied())
    assert ck.names() == ["emb.weight"] and ck["emb.weight"].role == "embedding"
    assert any("tied" in w for w in ck.warnings)
    assert set(role_map(Tied())) == {"emb.weight", "head.weight"}


def test_timm_vit_roles_meta():
    timm = pytest.importorskip("timm")
    with torch.device("meta"):
        m = timm.create_model("vit_tiny_patch16_224", pretrained=False)
    rm = role_map(m)
    assert rm["cls_token"].role == "positional" and rm["pos_embed"].role == "positional"
    assert rm["blocks.0.attn.qkv.weight"].role == "attn_in_proj"
    assert rm["blocks.0.attn.proj.weight"].role == "linear"
    assert rm["patch_embed.proj.weight"].role == "conv"
    assert rm["blocks.0.norm1.weight"].role == "norm_weight"


@pytest.mark.parametrize("arch", ["resnet18", "efficientnet_b0", "mobilenetv3_small_100", "vit_tiny_patch16_224",
                                  "convnext_atto", "tv:mobilenet_v2", "tv:vit_b_16", "tv:convnext_tiny"])
def test_inferred_roles_agree_with_architecture(arch):
    """Name/shape rules vs the roles the live architecture gives, key by key (timm and torchvision names)."""
    with torch.device("meta"):
        if arch.startswith("tv:"):
            tvm = pytest.importorskip("torchvision.models")
            m = getattr(tvm, arch[3:])(weights=None)
        else:
            m = pytest.importorskip("timm").create_model(arch, pretrained=False)
    rm = role_map(m)
    sd = m.state_dict()
    inferred = infer_roles([(k, tuple(v.shape), str(v.dtype)) for k, v in sd.items()])
    wrong = [(k, rm[k].role, i.role) for k, i in zip(sd, inferred) if rm[k].role != i.role]
    # convnext layer-scale 'gamma' and 1-D '.weight' of norm layers must agree too
    assert wrong == []
    for k, i in zip(sd, inferred):
        if rm[k].role in ("conv", "dwconv", "linear"):
            assert (i.fan_in, i.fan_out) == (rm[k].fan_in, rm[k].fan_out), k
            if rm[k].role == "dwconv":
                assert i.groups == rm[k].groups, k


def _roles(items):
    return {n: r.role for (n, _s, _d), r in zip(items, infer_roles(items))}


def test_infer_effnet_lite0_names(effnet_lite0_path):
    sd = torch.load(effnet_lite0_path, weights_only=True, map_location="cpu")
    items = [(k, tuple(v.shape), str(v.dtype)) for k, v in sd.items()]
    roles = _roles(items)
    assert sd["_blocks.0._depthwise_conv.weight"].shape == (32, 1, 3, 3)
    assert roles["_blocks.0._depthwise_conv.weight"] == "dwconv"
    assert roles["_conv_stem.weight"] == "conv"
    assert roles["_bn0.running_var"] == "running_stat"
    assert roles["_bn0.weight"] == "norm_weight" and roles["_bn0.bias"] == "norm_bias"
    assert roles["_fc.weight"] == "linear" and roles["_fc.bias"] == "bias"
    assert sum(r == "dwconv" for r in roles.values()) == 16
    # every depthwise conv: groups = channels, fan_in = k*k
    for (_n, s, _), r in zip(items, infer_roles(items)):
        if r.role == "dwconv":
            assert r.groups == s[0] and r.fan_in == s[2] * s[3]


def test_infer_bert_names():
    h = 32
    items = [
        ("embeddings.word_embeddings.weight", (100, h), "float32"),
        ("embeddings.position_embeddings.weight", (64, h), "float32"),
        ("embeddings.token_type_embeddings.weight", (2, h), "float32"),
        ("embeddings.LayerNorm.weight", (h,), "float32"),
        ("embeddings.LayerNorm.bias", (h,), "float32"),
        ("encoder.layer.0.attention.self.query.weight", (h, h), "float32"),
        ("encoder.layer.0.attention.self.query.bias", (h,), "float32"),
        ("encoder.layer.0.attention.output.LayerNorm.gamma", (h,), "float32"),
        ("encoder.layer.0.attention.output.LayerNorm.beta", (h,), "float32"),
        ("encoder.layer.0.intermediate.dense.weight", (4 * h, h), "float32"),
        ("embeddings.position_ids", (1, 64), "int64"),
        ("pooler.dense.bias", (h,), "float32"),
        ("pooler.dense.weight", (h, h), "float32"),
    ]
    r = _roles(items)
    assert r["embeddings.word_embeddings.weight"] == "embedding"
    assert r["embeddings.token_type_embeddings.weight"] == "embedding"
    assert r["embeddings.position_embeddings.weight"] == "positional"
    assert r["embeddings.LayerNorm.weight"] == "norm_weight" and r["embeddings.LayerNorm.bias"] == "norm_bias"
    assert r["encoder.layer.0.attention.self.query.weight"] == "linear"
    assert r["encoder.layer.0.attention.self.query.bias"] == "bias"
    assert r["encoder.layer.0.attention.output.LayerNorm.gamma"] == "norm_weight"
    assert r["encoder.layer.0.attention.output.LayerNorm.beta"] == "norm_bias"
    assert r["pooler.dense.bias"] == "bias"  # sibling weight is 2-D even though it comes later
    fi = infer_roles(items)[6]
    assert (fi.fan_in, fi.fan_out) == (h, h)


def test_infer_misc_names():
    items = [
        ("conv1.weight", (64, 1, 7, 7), "float32"),        # stem on 1-channel input: not depthwise
        ("layer1.0.conv_dw.weight", (64, 1, 3, 3), "float32"),
        ("blocks.0.attn.qkv.weight", (96, 32), "float32"),
        ("layers.0.self_attn.in_proj_weight", (96, 32), "float32"),
        ("layers.0.self_attn.in_proj_bias", (96,), "float32"),
        ("stages.0.gamma", (32,), "float32"),             # layer scale
        ("scalar", (), "float32"),
        ("bn.num_batches_tracked", (), "int64"),
        ("head.bias", (10,), "float32"),                  # lone bias
    ]
    r = _roles(items)
    assert r["conv1.weight"] == "conv"
    assert r["layer1.0.conv_dw.weight"] == "dwconv"
    assert r["blocks.0.attn.qkv.weight"] == "attn_in_proj"
    assert r["layers.0.self_attn.in_proj_weight"] == "attn_in_proj"
    assert r["layers.0.self_attn.in_proj_bias"] == "bias"
    assert r["stages.0.gamma"] == "other"
    assert r["scalar"] == "other"
    assert r["bn.num_batches_tracked"] == "running_stat"
    assert r["head.bias"] == "bias"


def test_infer_integer_buffers_are_other():
    r = _roles([("embeddings.position_ids", (1, 512), "int64"), ("mask", (4, 4), "bool"),
                ("w.weight", (3, 3), "torch.float32"), ("h.weight", (3, 3), "bfloat16")])
    assert r == {"embeddings.position_ids": "other", "mask": "other", "w.weight": "linear", "h.weight": "linear"}
