"""LSUV (Mishkin & Matas 2015): |Var - 1| <= tol on every covered layer, checked by an independent
forward with our own hooks; MultiheadAttention's out_proj covered; batch >= 16; zero heads kept."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from paramstat.errors import ParamstatError
from paramstat.init import lsuv_

torch.set_num_threads(1)


def _independent_vars(model, x):
    """Var of every conv/linear output in one full forward, BN in train mode, the rest eval."""
    out = {}
    hooks = []
    for name, m in model.named_modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            def hook(mod, a, y, name=name):
                out.setdefault(name + ".weight", y.double().var().item())   # returns None: output kept
            hooks.append(m.register_forward_hook(hook))
    modes = {n: m.training for n, m in model.named_modules()}
    for m in model.modules():
        m.training = isinstance(m, nn.modules.batchnorm._BatchNorm)
    with torch.no_grad():
        model(x)
    for n, m in model.named_modules():
        m.training = modes[n]
    for h in hooks:
        h.remove()
    return out


@pytest.mark.slow
def test_lsuv_resnet18_every_layer_unit_variance():
    timm = pytest.importorskip("timm")
    torch.manual_seed(0)
    m = timm.create_model("resnet18", pretrained=False, num_classes=10)
    bn = m.bn1.running_mean.clone(), m.bn1.running_var.clone()
    x = torch.randn(16, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    rep = lsuv_(m, x, tol=0.1, max_iter=10)
    assert len(rep.covered) == 21            # 20 convs + fc
    for r in rep.covered:
        assert abs(r.var_final - 1) <= 0.1, r
        assert r.status == "ok"
    assert torch.equal(m.bn1.running_mean, bn[0]) and torch.equal(m.bn1.running_var, bn[1])
    indep = _independent_vars(m, x)
    for r in rep.covered:   # later layers never change an earlier layer's output
        assert indep[r.name] == pytest.approx(r.var_final, rel=1e-4)
        assert abs(indep[r.name] - 1) <= 0.1
    # timm's zero_init_last: the last BN gamma of each block stays 0 (norm layers are not touched)
    assert torch.count_nonzero(m.layer1[0].bn2.weight) == 0


@pytest.mark.slow   # 2-4 s: kept out of the fast lane
def test_lsuv_vit_qkv_blocks_and_proj():
    timm = pytest.importorskip("timm")
    torch.manual_seed(0)
    m = timm.create_model("vit_tiny_patch16_224", pretrained=False, img_size=32, patch_size=8, depth=3,
                          num_classes=10)
    x = torch.randn(16, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    rep = lsuv_(m, x)
    names = {r.name for r in rep.covered}
    assert {"blocks.0.attn.qkv.weight[q]", "blocks.0.attn.qkv.weight[k]", "blocks.0.attn.qkv.weight[v]",
            "blocks.0.attn.proj.weight", "patch_embed.proj.weight", "head.weight"} <= names
    assert len(rep.covered) == 2 + 3 * 6     # patch conv, head; per block q, k, v, proj, fc1, fc2
    for r in rep.covered:
        assert abs(r.var_final - 1) <= 0.1, r
    # independent: the qkv output's q block, recomputed by hand from the block's input
    got = {}
    blk = m.blocks[1]
    def keep(mod, a, y):
        got["y"] = y
    h = blk.attn.qkv.register_forward_hook(keep)
    m.eval()
    with torch.no_grad():
        m(x)
    h.remove()
    e = m.embed_dim
    for i, c in enumerate("qkv"):
        v = got["y"][..., i * e:(i + 1) * e].double().var().item()
        assert abs(v - 1) <= 0.1
        assert v == pytest.approx(next(r.var_final for r in rep.covered
                                       if r.name == f"blocks.1.attn.qkv.weight[{c}]"), rel=1e-4)


class _MHANet(nn.Module):
    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(8, 32)
        self.mha = nn.MultiheadAttention(32, 4, batch_first=True)
        self.head = nn.Linear(32, 3)

    def forward(self, x):
        y = self.inp(x)
        y, _ = self.mha(y, y, y)
        return self.head(y)


def test_lsuv_reaches_mha_out_proj():
    torch.manual_seed(0)
    m = _MHANet()
    x = torch.randn(16, 5, 8, generator=torch.Generator().manual_seed(3))
    rep = lsuv_(m, x)
    by = {r.name: r for r in rep.layers}
    assert by["mha.out_proj.weight"].status == "ok"
    assert by["mha.out_proj.weight"].iters >= 1          # it really was scaled
    for c in "qkv":
        assert by[f"mha.in_proj_weight[{c}]"].status == "ok"
    m.eval()
    with torch.no_grad():
        y = m.inp(x)
        a, _ = m.mha(y, y, y)                             # = out_proj's output
    assert abs(a.double().var().item() - 1) <= 0.1
    assert a.double().var().item() == pytest.approx(by["mha.out_proj.weight"].var_final, rel=1e-4)
    assert [r.name for r in rep.layers][-1] == "head.weight"   # forward order


def test_lsuv_batch_minimum_and_zero_head():
    m = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 4))
    with pytest.raises(ParamstatError):
        lsuv_(m, torch.randn(15, 10))
    nn.init.zeros_(m[2].weight)
    rep = lsuv_(m, torch.randn(32, 10))
    by = {r.name: r for r in rep.layers}
    assert by["2.weight"].status == "kept zero" and torch.count_nonzero(m[2].weight) == 0
    assert by["0.weight"].status == "ok"
    rep2 = lsuv_(m, torch.randn(32, 10), keep_zero=False)
    assert {r.name: r for r in rep2.layers}["2.weight"].status == "ok"
