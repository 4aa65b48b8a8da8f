"""Which parameters of a module an init touches, and in what role; the same fine roles for the records
of a stored checkpoint (what `paramstat fit` fits).

The role decision and its refinement into fine roles are paramstat.sources.roles' (`role_from_module`
for a live module, the readers' roles for a stored checkpoint, `fine_roles` / `linear_role` on top).
For a live module one walk over ``named_modules`` yields `Slot`s: a view of
one weight (or one q/k/v chunk of a fused projection) with its fine role, fans, kernel size and relative
depth. Classic inits, LSUV and native sampling all iterate these slots, so the three agree on what is
"a layer"; `checkpoint_entries` gives a stored checkpoint's tensors with the same fine roles and fans.

Fine roles (a refinement of paramstat.record.ROLES): 'conv' (k>1, not depthwise), 'dwconv'
(groups == in_channels > 1), 'pwconv' (1x1, groups 1), 'linear', 'attn_q', 'attn_k', 'attn_v',
'attn_proj' (attention projections: a linear role refined by its module name; fused q/k/v split in
three), 'embedding', 'positional', 'bn_weight', 'bn_bias' (BatchNorm: the module type, or running stats
beside it), 'norm_weight', 'norm_bias' (LayerNorm, GroupNorm, RMSNorm ...), 'bias', 'other'.
Fans: fan_in as torch, fan_out per group (out * k*k / groups, timm's goog convention); a bias carries
its layer's fan_in, fan_out = its length and its weight's kernel; norm parameters their length.
Recurrent layers (nn.LSTM/GRU/RNN and cells) of a live module are not slots: no init here covers them
(their tensors are 'other' and keep the module's init); in a stored checkpoint they are linear / bias.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import torch
from torch import nn

from ..sources.roles import fine_roles, leaf, parent, role_from_module
from ..stats.shapes import kernel_size

WEIGHT_ROLES = ("conv", "dwconv", "pwconv", "linear", "attn_q", "attn_k", "attn_v", "attn_proj", "embedding")
ONE_D_ROLES = ("bias", "norm_weight", "norm_bias", "bn_weight", "bn_bias")


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


def _is_weight_slot(role: str, name: str, shape: tuple) -> bool:
    """Layer weights: what relative depth counts and inits write as a whole (an embedding module's
    positional table counts; a pos_embed / cls_token parameter does not)."""
    return role in WEIGHT_ROLES or (role == "positional" and leaf(name) == "weight" and len(shape) == 2)


def weight_slots(module: nn.Module, split_qkv: bool = True) -> tuple[list[Slot], list[tuple[str, nn.Parameter, str]]]:
    """Weight slots (conv, linear, attention, embedding) in module order, and the other parameters
    as (name, param, role) with role in norm_weight / norm_bias / bn_weight / bn_bias / bias / positional / other.
    (`all_slots` gives both as Slots in one ordered list, with fans and depths for the 1-D ones.)
    Roles: paramstat.sources.roles.role_from_module, refined by `fine_roles`.

    A fused q/k/v weight (nn.MultiheadAttention.in_proj_weight, timm 'attn.qkv') becomes three slots
    'attn_q', 'attn_k', 'attn_v' of (E, E) rows each when ``split_qkv``.
    """
    slots: list[Slot] = []
    others: list[tuple[str, nn.Parameter, str]] = []
    seen: set[int] = set()
    for mname, m in module.named_modules():
        pre = f"{mname}." if mname else ""
        mtype = type(m).__name__
        rnn = isinstance(m, (nn.RNNBase, nn.RNNCellBase))
        bn = isinstance(m, nn.modules.batchnorm._BatchNorm)
        for pn, p in m.named_parameters(recurse=False):
            if id(p) in seen:
                continue
            seen.add(id(p))
            name, shape = pre + pn, tuple(p.shape)
            if rnn:
                others.append((name, p, "other"))
                continue
            info = role_from_module(m, pn, name, shape, False)
            w = getattr(m, "weight", None)
            bk = kernel_size(tuple(w.shape)) if info.role == "bias" and isinstance(w, torch.Tensor) else 1
            for suffix, rows, fine, fi, fo, k in fine_roles(info.role, name, shape, groups=info.groups, bn=bn,
                                                            bias_kernel=bk, split_qkv=split_qkv):
                if _is_weight_slot(fine, name, shape):
                    slots.append(Slot(name + suffix, p, rows, fine, mtype, fi, fo, k))
                else:
                    others.append((name, p, fine))
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
    """One tensor (or q/k/v block) of a stored checkpoint (no module at hand), with its fine role."""
    name: str
    values: object            # numpy float array
    role: str
    fan_in: int
    fan_out: int
    kernel: int
    rel_depth: float = 0.0


def checkpoint_entries(ckpt) -> list[Entry]:
    """A stored checkpoint's tensors (paramstat.sources.load: the readers' roles, fans, groups) with
    fine roles (`fine_roles`), float64 values and relative depths, as `all_slots` gives them for the
    module. Running stats, integer tensors and tensors of fewer than 2 values are left out; role 'other'
    stays in (fits skip it). BatchNorm: a norm parameter whose module type says BatchNorm or that has
    running stats beside it."""
    import numpy as np

    recs = [r for r in ckpt.records if r.analysable and r.role != "running_stat" and r.numel >= 2]
    stat_parents = {parent(r.name) for r in ckpt.records if r.role == "running_stat"}
    by_name = {r.name: r for r in ckpt.records}
    out: list[Entry] = []
    weights: list[Entry] = []
    for r in recs:
        bn = parent(r.name) in stat_parents or "batchnorm" in (r.module_type or "").lower()
        sib = by_name.get(f"{parent(r.name)}.weight" if parent(r.name) else "weight")
        bk = kernel_size(tuple(sib.shape)) if r.role == "bias" and sib is not None else 1
        a = np.asarray(r.values(), dtype=np.float64).reshape(r.shape)
        for suffix, rows, fine, fi, fo, k in fine_roles(r.role, r.name, tuple(r.shape), groups=r.groups,
                                                        fan_in=r.fan_in, fan_out=r.fan_out, bn=bn,
                                                        bias_kernel=bk):
            e = Entry(r.name + suffix, a if rows is None else a[rows], fine, fi, fo, k)
            out.append(e)
            if _is_weight_slot(fine, r.name, tuple(r.shape)):
                weights.append(e)
    _depths(weights, out)
    return out


def state_dict_entries(sd: dict) -> list[Entry]:
    """`checkpoint_entries` of a plain state_dict (name -> array), read by paramstat.sources.load."""
    from ..sources import load

    return checkpoint_entries(load(dict(sd)))


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
