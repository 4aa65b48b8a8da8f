"""Which parameters of a module an init touches, and in what role.

One walk over ``named_modules`` that yields `Slot`s: a view of one weight (or one q/k/v chunk of a
fused projection) with its fine role, fans, kernel size and relative depth. Classic inits, LSUV and
native sampling all iterate these slots, so the three agree on what is "a layer".

Fine roles (a refinement of paramstat.record.ROLES): 'conv' (k>1, not depthwise), 'dwconv'
(groups == in_channels > 1), 'pwconv' (1x1, groups 1), 'linear', 'attn_q', 'attn_k', 'attn_v',
'attn_proj' (attention projections, from the module type or names), 'embedding', 'positional',
'bn_weight', 'bn_bias' (BatchNorm: has running stats), 'norm_weight', 'norm_bias' (LayerNorm, GroupNorm,
RMSNorm ...), 'bias'.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

import torch
from torch import nn

NORM_TYPES = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm, nn.LocalResponseNorm)
_RMS = tuple(t for t in (getattr(nn, "RMSNorm", None),) if t is not None)

_Q = re.compile(r"(^|\.)(q|query|q_proj)$")
_K = re.compile(r"(^|\.)(k|key|k_proj)$")
_V = re.compile(r"(^|\.)(v|value|v_proj)$")
_QKV = re.compile(r"(^|\.)(qkv|in_proj|c_attn|query_key_value|Wqkv)$")
_PROJ = re.compile(r"(attn|attention)\.(proj|out_proj|o_proj|c_proj)$|attention\.output\.dense$|(^|\.)out_proj$")


@dataclass
class Slot:
    """One tensor (or a row block of one) that an init writes."""
    name: str                 # parameter name (with '[q]' etc. for a chunk of a fused projection)
    param: torch.nn.Parameter
    rows: slice | None        # row block of param (fused q/k/v), None = whole tensor
    role: str
    module_type: str
    fan_in: int
    fan_out: int
    kernel: int               # spatial kernel size (k of k x k; 1 for linear / 1-D tensors)
    rel_depth: float = 0.0    # position among weight slots, 0 = first, 1 = last

    @property
    def tensor(self) -> torch.Tensor:
        return self.param.data if self.rows is None else self.param.data[self.rows]

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.tensor.shape)

    def write(self, values: torch.Tensor) -> None:
        with torch.no_grad():
            self.tensor.copy_(values.reshape(self.shape).to(self.param.dtype))


def linear_role(module_name: str) -> str:
    """Role of an nn.Linear from its qualified name: attention projections are named, not typed."""
    if _PROJ.search(module_name):
        return "attn_proj"
    if _Q.search(module_name):
        return "attn_q"
    if _K.search(module_name):
        return "attn_k"
    if _V.search(module_name):
        return "attn_v"
    return "linear"


def _conv_role(m: nn.Module) -> str:
    k = int(math.prod(m.kernel_size))
    if m.groups > 1 and m.groups == m.in_channels:
        return "dwconv"
    return "pwconv" if k == 1 else "conv"


def _conv_fans(w: torch.Tensor, groups: int) -> tuple[int, int, int]:
    """fan_in = in/groups * k*k (torch), fan_out = out * k*k / groups (per-group, as timm's goog init)."""
    rf = int(math.prod(w.shape[2:])) if w.dim() > 2 else 1
    k = int(round(rf ** (1.0 / max(1, w.dim() - 2)))) if w.dim() > 2 else 1
    return int(w.shape[1]) * rf, max(1, int(w.shape[0]) * rf // groups), k


def weight_slots(module: nn.Module, split_qkv: bool = True) -> tuple[list[Slot], list[tuple[str, nn.Parameter, str]]]:
    """Weight slots (conv, linear, attention, embedding) in module order, and the other parameters
    as (name, param, role) with role in norm_weight / norm_bias / bn_weight / bn_bias / bias / positional / other.
    (`all_slots` gives both as Slots in one ordered list, with fans and depths for the 1-D ones.)

    A fused q/k/v weight (nn.MultiheadAttention.in_proj_weight, timm 'attn.qkv') becomes three slots
    'attn_q', 'attn_k', 'attn_v' of (E, E) rows each when ``split_qkv``.
    """
    slots: list[Slot] = []
    others: list[tuple[str, nn.Parameter, str]] = []
    seen: set[int] = set()
    for mname, m in module.named_modules():
        pre = f"{mname}." if mname else ""
        direct = list(m.named_parameters(recurse=False))
        if not direct:
            continue
        mtype = type(m).__name__
        if isinstance(m, nn.modules.conv._ConvNd):
            fi, fo, k = _conv_fans(m.weight, m.groups)
            slots.append(Slot(pre + "weight", m.weight, None, _conv_role(m), mtype, fi, fo, k))
            seen.add(id(m.weight))
            if m.bias is not None:
                others.append((pre + "bias", m.bias, "bias"))
                seen.add(id(m.bias))
        elif isinstance(m, nn.Linear):
            role = linear_role(mname)
            w = m.weight
            if role == "linear" and _QKV.search(mname) and w.shape[0] % 3 == 0 and split_qkv:
                e = w.shape[0] // 3
                for i, r in enumerate(("attn_q", "attn_k", "attn_v")):
                    slots.append(Slot(f"{pre}weight[{r[-1]}]", w, slice(i * e, (i + 1) * e), r, mtype,
                                      int(w.shape[1]), e, 1))
            else:
                slots.append(Slot(pre + "weight", w, None, role, mtype, int(w.shape[1]), int(w.shape[0]), 1))
            seen.add(id(w))
            if m.bias is not None:
                others.append((pre + "bias", m.bias, "bias"))
                seen.add(id(m.bias))
        elif isinstance(m, nn.MultiheadAttention):
            e = m.embed_dim
            if m.in_proj_weight is not None:
                w = m.in_proj_weight
                if split_qkv:
                    for i, r in enumerate(("attn_q", "attn_k", "attn_v")):
                        slots.append(Slot(f"{pre}in_proj_weight[{r[-1]}]", w, slice(i * e, (i + 1) * e), r,
                                          mtype, int(w.shape[1]), e, 1))
                else:
                    slots.append(Slot(pre + "in_proj_weight", w, None, "attn_q", mtype, int(w.shape[1]),
                                      int(w.shape[0]), 1))
                seen.add(id(w))
            for r, pn in (("attn_q", "q_proj_weight"), ("attn_k", "k_proj_weight"), ("attn_v", "v_proj_weight")):
                w = getattr(m, pn, None)
                if w is not None:
                    slots.append(Slot(pre + pn, w, None, r, mtype, int(w.shape[1]), int(w.shape[0]), 1))
                    seen.add(id(w))
            for pn in ("in_proj_bias", "bias_k", "bias_v"):
                p = getattr(m, pn, None)
                if p is not None:
                    others.append((pre + pn, p, "bias"))
                    seen.add(id(p))
        elif isinstance(m, nn.Embedding) or isinstance(m, nn.EmbeddingBag):
            role = "positional" if re.search(r"pos", mname) else "embedding"
            w = m.weight
            slots.append(Slot(pre + "weight", w, None, role, mtype, int(w.shape[1]), int(w.shape[0]), 1))
            seen.add(id(w))
        elif isinstance(m, NORM_TYPES + _RMS) or "norm" in mtype.lower():
            kind = "bn" if isinstance(m, nn.modules.batchnorm._BatchNorm) else "norm"
            for pn, p in direct:
                if id(p) in seen:
                    continue
                others.append((pre + pn, p, f"{kind}_bias" if pn.endswith("bias") else f"{kind}_weight"))
                seen.add(id(p))
        for pn, p in direct:  # parameters owned directly by other modules (pos_embed, cls_token, gamma...)
            if id(p) in seen:
                continue
            seen.add(id(p))
            role = "positional" if re.search(r"pos|cls_token|reg_token|dist_token", pn) else (
                "bias" if pn.endswith("bias") else "other")
            others.append((pre + pn, p, role))
    n = len(slots)
    for i, s in enumerate(slots):
        s.rel_depth = i / (n - 1) if n > 1 else 0.0
    return slots, others


def all_slots(module: nn.Module) -> list[Slot]:
    """Every parameter as Slots in module order (fused q/k/v split). 1-D parameters get fans like
    `state_dict_entries`: a bias carries its module's weight fans, a norm parameter its length, and
    the relative depth of the last weight slot before it."""
    slots, others = weight_slots(module)
    by_param = {}
    for s in slots:
        by_param.setdefault(s.name.split("[")[0].rsplit(".", 1)[0] if "." in s.name else "", s)
    order = {n: i for i, (n, _) in enumerate(module.named_parameters())}
    items = [(order.get(s.name.split("[")[0], 0), 0, s) for s in slots]
    for name, p, role in others:
        mod = name.rsplit(".", 1)[0] if "." in name else ""
        w = by_param.get(mod)
        n = int(p.numel())
        if role == "bias" and w is not None:
            sl = Slot(name, p, None, role, w.module_type, w.fan_in, n, w.kernel)
        else:
            sl = Slot(name, p, None, role, "", n, n, 1)
        items.append((order.get(name, 0), 1, sl))
    items.sort(key=lambda t: (t[0], t[1]))
    last = 0.0
    out = []
    for _, is_other, s in items:
        if is_other:
            s.rel_depth = last
        else:
            last = s.rel_depth
        out.append(s)
    return out


@dataclass
class Entry:
    """One tensor of a stored checkpoint (no module at hand), with its fine role from names and shapes."""
    name: str
    values: object            # numpy float array
    role: str
    fan_in: int
    fan_out: int
    kernel: int
    rel_depth: float = 0.0


_SKIP = re.compile(r"(running_mean|running_var|num_batches_tracked|position_ids|attn_mask|relative_position_index)$")


def _parent(name: str) -> str:
    return name.rsplit(".", 1)[0] if "." in name else ""


def state_dict_entries(sd: dict) -> list[Entry]:
    """Fine roles for a plain state_dict (name -> numpy array), as weight_slots would give for the module:
    4-D (out, in/g, k, k): 'dwconv' if in/g == 1 < out (but not for the first conv, a 1-channel stem,
    unless named depthwise/dw), 'pwconv' if k == 1, else 'conv';
    2-D: 'embedding'/'positional' for '*embed*' names, q/k/v/proj from names (fused q/k/v split in 3),
    else 'linear'; 1-D: 'norm_weight'/'norm_bias' when the sibling weight is 1-D, else 'bias'
    (carrying its sibling weight's fans); 'bn_*' instead of 'norm_*' when a running_var sits beside. Buffers and integer tensors are skipped."""
    import numpy as np

    out: list[Entry] = []
    shapes = {k: tuple(np.shape(v)) for k, v in sd.items()}
    seen_conv = False
    for name, v in sd.items():
        a = np.asarray(v)
        if _SKIP.search(name) or a.dtype.kind != "f" or a.size < 2:
            continue
        a = a.astype(np.float64)
        mod, leaf = _parent(name), name.rsplit(".", 1)[-1]
        shp = a.shape
        if a.ndim >= 3 and not re.search(r"pos|cls_token|reg_token", leaf):
            if a.ndim == 3 and a.shape[0] == 1:   # (1, tokens, dim) positional tables
                out.append(Entry(name, a.reshape(-1), "positional", a.size, a.size, 1))
                continue
            rf = int(np.prod(shp[2:]))
            k = int(round(rf ** (1.0 / (a.ndim - 2))))
            # in/groups == 1 is depthwise, except for the first conv of a net on 1-channel input (a stem)
            groups = shp[0] if (shp[1] == 1 and shp[0] > 1 and (seen_conv or re.search(r"depthwise|dw", name))) else 1
            seen_conv = True
            role = "dwconv" if groups > 1 else ("pwconv" if rf == 1 else "conv")
            out.append(Entry(name, a, role, shp[1] * rf, max(1, shp[0] * rf // groups), k))
        elif a.ndim >= 2 and (re.search(r"pos|cls_token|reg_token", leaf) or re.search(r"position", mod)):
            fi, fo = (shp[-1], shp[0]) if leaf == "weight" else (a.size, a.size)
            out.append(Entry(name, a, "positional", fi, fo, 1))
        elif a.ndim == 2 and re.search(r"embed", mod) and not re.search(r"proj|norm", mod):
            out.append(Entry(name, a, "embedding", shp[1], shp[0], 1))
        elif a.ndim == 2:
            role = linear_role(mod)
            if (leaf == "in_proj_weight" or (role == "linear" and _QKV.search(mod))) and shp[0] % 3 == 0:
                e = shp[0] // 3
                for i, r in enumerate(("attn_q", "attn_k", "attn_v")):
                    out.append(Entry(f"{name}[{r[-1]}]", a[i * e:(i + 1) * e], r, shp[1], e, 1))
            else:
                if leaf == "out_proj.weight" or mod.endswith("out_proj"):
                    role = "attn_proj"
                out.append(Entry(name, a, role, shp[1], shp[0], 1))
        elif a.ndim == 1:
            sib = shapes.get(f"{mod}.weight" if mod else "weight")
            if sib is not None and len(sib) == 1:
                kind = "bn" if f"{mod}.running_var" in shapes else "norm"
                role = f"{kind}_bias" if leaf.endswith("bias") else f"{kind}_weight"
                out.append(Entry(name, a, role, a.size, a.size, 1))
            elif leaf.endswith("bias") and sib is not None:
                rf = int(np.prod(sib[2:])) if len(sib) > 2 else 1
                k = int(round(rf ** (1.0 / (len(sib) - 2)))) if len(sib) > 2 else 1
                out.append(Entry(name, a, "bias", sib[1] * rf, a.size, k))
            elif leaf.endswith("bias"):   # in_proj_bias etc.
                w2 = shapes.get(f"{mod}.in_proj_weight" if mod else "in_proj_weight")
                out.append(Entry(name, a, "bias", w2[1] if w2 else a.size, a.size, 1))
            else:
                out.append(Entry(name, a, "norm_weight", a.size, a.size, 1))
    _depths([e for e in out if e.role not in ("bias", "norm_weight", "norm_bias", "bn_weight", "bn_bias")
             and re.search(r"weight(\[.\])?$", e.name)], out)
    return out


def _depths(weights: list, every: list) -> None:
    """rel_depth: index among weight entries / (n-1); 1-D entries take the last weight's depth before them."""
    n = len(weights)
    ids = {id(w): i for i, w in enumerate(weights)}
    last = 0.0
    for e in every:
        if id(e) in ids:
            last = ids[id(e)] / (n - 1) if n > 1 else 0.0
            e.rel_depth = last
        else:
            e.rel_depth = last


_QK_TOKEN = re.compile(r"(query|key|q_proj|k_proj|\[q\]|\[k\]|(?<=\.)[qk](?=\.))")


def qk_block(name: str, role: str) -> str | None:
    """The attention block a q or k weight belongs to: its name with the q/k token masked (pairs
    'x.query.weight'/'x.key.weight', 'qkv.weight[q]'/'[k]', 'in_proj_weight[q]'/'[k]'); None otherwise."""
    if role not in ("attn_q", "attn_k"):
        return None
    masked, n = _QK_TOKEN.subn("#", name)
    return masked if n else None
