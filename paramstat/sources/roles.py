"""Layer roles and fans, from a live nn.Module or, without an architecture, from names and shapes.

Fans follow ``torch.nn.init._calculate_fan_in_and_fan_out`` on the weight as stored:
``fan_in = shape[1] * prod(shape[2:])``, ``fan_out = shape[0] * prod(shape[2:])``. For a conv with
weight ``(out, in/groups, kh, kw)`` this is ``fan_in = in/groups*kh*kw`` and ``fan_out = out*kh*kw``:
torch does NOT divide fan_out by groups (torchvision's kaiming_normal_(mode='fan_out') inherits that),
while timm's ``_init_weight_goog`` uses ``fan_out = kh*kw*out/groups``. ``groups`` is recorded so a
consumer can test either convention. A bias gets the fans of its layer's weight (PyTorch's default bias
init is U(+-1/sqrt(fan_in))). Norm parameters, running stats and positional tensors get None.

Roles (paramstat.record.ROLES): conv, dwconv (groups == in_channels > 1), linear, embedding,
norm_weight, norm_bias, bias, running_stat, attn_in_proj (MultiheadAttention in_proj_weight and fused
qkv Linear weights), positional (pos_embed, position_embeddings, cls/dist/mask/reg tokens ...), other.
RNN/LSTM/GRU weights (weight_ih/hh/hr*, (gates*hidden, in)) are linear, their bias_ih/hh* biases with
the fans of the weight of the same suffix (as ONNX LSTM W/R/B and Keras kernel/recurrent_kernel/bias).
PReLU slopes stay norm_weight in state dicts (a 1-D 'weight'), as Keras' readers say too: no separate
role, so the verdict treats them as norm scales (non-constant -> moved from their constant init).
This module is the one role decision: every reader and paramstat.init (fit, generate) use it.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ..stats.shapes import goog_fan_out, kernel_size, torch_fans

POSITIONAL_RE = re.compile(
    r"(^|[._])(pos_embed\w*|pos_embedding\w*|position_embeddings?|absolute_pos_embed|cls_token|dist_token|"
    r"mask_token|reg_token|register_tokens?|class_token|relative_position_bias_table|wpe|embed_positions|"
    r"positional_embedding|class_embedding)($|[._])"
)
ATTN_IN_RE = re.compile(r"(^|\.)(qkv|in_proj|query_key_value|c_attn|Wqkv|qkv_proj)(\.linear)?(\.weight|_weight)$"
                        r"|(^|\.)in_proj_weight$|(^|\.)[qkv]_proj_weight$")
RUNNING_LEAVES = ("running_mean", "running_var", "num_batches_tracked", "moving_mean", "moving_variance")
EMBED_HINT_RE = re.compile(r"embed|wte|word_embeddings|token_embedding|tok_embeddings|shared\.weight$"
                           r"|(^|[._])(emb|embs|emb\d+|tok|toks|tokens?|tok_emb\w*|lookup|vocab)\.weight$", re.I)
NORM_HINT_RE = re.compile(r"(^|[._])(\w*norm\w*|bn\d*|_bn\d*|ln\w*|gn\d*|layernorm\w*|batchnorm\w*|"
                          r"LayerNorm|ln_f|ln_\d+)($|[._])", re.I)
LAYER_SCALE_RE = re.compile(r"^(layer_?scale\w*|gamma\w*|ls\d*|scale\w*)$", re.I)
DW_HINT_RE = re.compile(r"depthwise|(^|[._])dw([._]|$)|conv_dw|dw_conv|dwconv", re.I)
# torch RNN/LSTM/GRU (and their cells) parameters: weight_ih_l0, weight_hh_l1_reverse, bias_ih, weight_hr_l0 ...
RNN_RE = re.compile(r"^(weight|bias)_(ih|hh|hr)(_l\d+)?(_reverse)?$")


@dataclass(frozen=True)
class RoleInfo:
    role: str
    fan_in: int | None = None
    fan_out: int | None = None
    groups: int | None = None
    module_type: str | None = None
    hidden_size: int | None = None   # recurrent layers: torch draws every parameter from U(+-1/sqrt(hidden))


def leaf(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def parent(name: str) -> str:
    return name.rsplit(".", 1)[0] if "." in name else ""


def is_positional(name: str) -> bool:
    return bool(POSITIONAL_RE.search(name))


def is_attn_in(name: str) -> bool:
    return bool(ATTN_IN_RE.search(name))


# ---------------------------------------------------------------- from a live module

def role_from_module(module, pname: str, full_name: str, shape: tuple[int, ...], is_buffer: bool) -> RoleInfo:
    """Role of parameter/buffer ``pname`` owned directly by ``module`` (full key ``full_name``)."""
    import torch.nn as nn

    mtype = type(module).__name__
    fi, fo = torch_fans(shape)
    if is_buffer:
        if pname in RUNNING_LEAVES:
            return RoleInfo("running_stat", module_type=mtype)
        if is_positional(full_name):
            return RoleInfo("positional", module_type=mtype)
        return RoleInfo("other", fi, fo, module_type=mtype)
    if is_positional(full_name):
        return RoleInfo("positional", module_type=mtype)
    if isinstance(module, nn.modules.conv._ConvNd):
        g = int(module.groups)
        if pname == "weight":
            dw = g > 1 and g == int(module.in_channels)
            return RoleInfo("dwconv" if dw else "conv", fi, fo, g, mtype)
        if pname == "bias":
            wfi, wfo = torch_fans(tuple(module.weight.shape))
            return RoleInfo("bias", wfi, wfo, g, mtype)
    if isinstance(module, nn.Linear):
        if pname == "weight":
            return RoleInfo("attn_in_proj" if is_attn_in(full_name) else "linear", fi, fo, None, mtype)
        if pname == "bias":
            wfi, wfo = torch_fans(tuple(module.weight.shape))
            return RoleInfo("bias", wfi, wfo, None, mtype)
    if isinstance(module, nn.MultiheadAttention):
        if pname in ("in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight"):
            return RoleInfo("attn_in_proj", fi, fo, None, mtype)
        if pname in ("in_proj_bias", "bias_k", "bias_v"):
            w = module.in_proj_weight if module.in_proj_weight is not None else module.q_proj_weight
            wfi, wfo = torch_fans(tuple(w.shape))
            return RoleInfo("bias", wfi, wfo, None, mtype)
    if isinstance(module, (nn.RNNBase, nn.RNNCellBase)) and RNN_RE.match(pname):
        return rnn_role(pname, shape, {n: tuple(p.shape) for n, p in module.named_parameters(recurse=False)},
                        mtype, int(module.hidden_size))
    if isinstance(module, (nn.Embedding, nn.EmbeddingBag)) and pname == "weight":
        return RoleInfo("embedding", fi, fo, None, mtype)
    if _is_norm_module(module):
        if pname in ("weight", "gamma", "scale"):
            return RoleInfo("norm_weight", module_type=mtype)
        if pname in ("bias", "beta", "shift"):
            return RoleInfo("norm_bias", module_type=mtype)
    if pname == "in_proj_weight" or is_attn_in(full_name):
        return RoleInfo("attn_in_proj", fi, fo, None, mtype)
    if pname == "bias" and len(shape) == 1:   # a custom layer's own bias: the fans of its weight if it has one
        w = getattr(module, "weight", None)
        wfi, wfo = torch_fans(tuple(w.shape)) if isinstance(w, nn.Parameter) and w.dim() >= 2 else (None, None)
        return RoleInfo("bias", wfi, wfo, None, mtype)
    return RoleInfo("other", fi, fo, None, mtype)


def rnn_role(pname: str, shape: tuple[int, ...], siblings: dict[str, tuple[int, ...]],
             module_type: str | None = None, hidden_size: int | None = None) -> RoleInfo:
    """torch RNN/LSTM/GRU(Cell) tensors: weight_ih/hh/hr* (gates*hidden, in) -> linear with torch's fans;
    bias_ih/hh* -> bias with the fans of the weight of the same suffix (``siblings``: leaf -> shape).
    ``hidden_size`` (RNNBase.reset_parameters draws every weight and bias from U(+-1/sqrt(hidden_size))):
    given by a live module, else `rnn_hidden_size` of the siblings."""
    suffix = pname.split("_", 2)[2] if pname.count("_") >= 2 else ""
    hidden = hidden_size if hidden_size is not None else rnn_hidden_size(siblings, suffix)
    if pname.startswith("weight"):
        return RoleInfo("linear", *torch_fans(shape), None, module_type, hidden)
    w = siblings.get("weight" + pname[4:])
    wfi, wfo = torch_fans(w) if w is not None and len(w) == 2 else (None, None)
    return RoleInfo("bias", wfi, wfo, None, module_type, hidden)


def rnn_hidden_size(siblings: dict[str, tuple[int, ...]], suffix: str = "") -> int | None:
    """hidden_size of a torch RNN from its tensors' shapes: weight_hh is (gates*hidden, hidden), or
    (gates*hidden, proj_size) with an LSTM projection, whose weight_hr is (proj_size, hidden)."""
    tail = ("_" + suffix) if suffix else ""
    hr = siblings.get("weight_hr" + tail)
    if hr is not None and len(hr) == 2:
        return int(hr[1])
    hh = siblings.get("weight_hh" + tail)
    return int(hh[1]) if hh is not None and len(hh) == 2 else None


def _is_norm_module(module) -> bool:
    import torch.nn as nn

    norm_types = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm, nn.LocalResponseNorm)
    rms = getattr(nn, "RMSNorm", None)
    if rms is not None:
        norm_types = norm_types + (rms,)
    if isinstance(module, norm_types):
        return True
    return "norm" in type(module).__name__.lower()


# ---------------------------------------------------------------- from names and shapes

def infer_roles(items: list[tuple[str, tuple[int, ...], str]]) -> list[RoleInfo]:
    """Roles from names and shapes alone (no architecture). ``items`` = [(name, shape, dtype)] in
    network order. Rules, first match wins:

    1. leaf in running_mean / running_var / num_batches_tracked (or TF moving_*) -> running_stat;
       any other non-float tensor (position_ids, masks) -> other
    2. name matches a positional pattern (pos_embed, position_embeddings, cls_token ...) -> positional
    3. ndim >= 2 with a layer-scale leaf (layer_scale, gamma, ls1, scale...) -> other;
       ndim >= 3 -> conv; dwconv when shape[1] == 1 and shape[0] > 1 and either the name says depthwise
       (depthwise, dw, conv_dw) or it is not the first conv weight of the file (a stem conv on 1-channel
       input has the same shape); groups = shape[0] (channel multiplier 1 assumed).
    4. torch RNN tensors (weight_ih_l0, bias_hh_l0_reverse ...) -> `rnn_role`: linear / bias with the fans of
       the sibling weight and hidden_size from weight_hh's shape.
    5. ndim == 2: fused qkv / in_proj names -> attn_in_proj; names with embed/wte/word_embeddings, or a
       module named emb/tok/tokens/lookup/vocab -> embedding; otherwise linear.
    6. ndim == 1: leaf weight/gamma/scale -> norm_weight (a 1-D weight is a norm scale in practice);
       leaf bias/beta: norm_bias when its sibling weight is 1-D or the parent name looks like a norm,
       bias (with the sibling weight's fans) when the sibling weight has ndim >= 2.
    7. anything else (scalars, integer buffers, layer-scale gamma, 1-D without a norm-like name) -> other.
    """
    shapes = {n: tuple(s) for n, s, _ in items}
    out: list[RoleInfo] = []
    seen_conv = False
    for name, shape, dtype in items:
        _dtype = str(dtype).replace("torch.", "")
        shape = tuple(int(s) for s in shape)
        lf, par = leaf(name), parent(name)
        fi, fo = torch_fans(shape)
        if lf in RUNNING_LEAVES:
            out.append(RoleInfo("running_stat"))
            continue
        if not _dtype.startswith(("float", "bfloat")):
            out.append(RoleInfo("other"))  # integer / bool buffers (position_ids, masks): listed only
            continue
        if is_positional(name):
            out.append(RoleInfo("positional"))
            continue
        if len(shape) >= 2 and LAYER_SCALE_RE.match(lf):
            out.append(RoleInfo("other", fi, fo))  # layer scale stored as (C, 1, 1), not a conv
            continue
        if len(shape) >= 3:
            dw = shape[1] == 1 and shape[0] > 1 and (bool(DW_HINT_RE.search(name)) or seen_conv)
            seen_conv = True
            out.append(RoleInfo("dwconv", fi, fo, shape[0]) if dw else RoleInfo("conv", fi, fo, 1))
            continue
        if len(shape) in (1, 2) and RNN_RE.match(lf):   # LSTM/GRU weight_ih_l0, bias_ih_l0 ...: not norm/embedding
            pre = f"{par}." if par else ""
            sibs = {k[len(pre):]: v for k, v in shapes.items() if k.startswith(pre) and "." not in k[len(pre):]}
            out.append(rnn_role(lf, shape, sibs))
            continue
        if len(shape) == 2:
            if is_attn_in(name):
                out.append(RoleInfo("attn_in_proj", fi, fo))
            elif EMBED_HINT_RE.search(name):
                out.append(RoleInfo("embedding", fi, fo))
            else:
                out.append(RoleInfo("linear", fi, fo))
            continue
        if len(shape) == 1:
            sib_w = None
            for cand in ("weight", "gamma", "scale"):
                key = f"{par}.{cand}" if par else cand
                if key in shapes and key != name:
                    sib_w = shapes[key]
                    break
            if lf in ("weight", "scale") or (lf == "gamma" and NORM_HINT_RE.search(par or "")):
                out.append(RoleInfo("norm_weight"))
                continue
            if lf in ("bias", "beta", "in_proj_bias"):
                if sib_w is not None and len(sib_w) >= 2:
                    g = None
                    if len(sib_w) >= 3:
                        g = sib_w[0] if (sib_w[1] == 1 and sib_w[0] > 1) else 1
                    wfi, wfo = torch_fans(sib_w)
                    out.append(RoleInfo("bias", wfi, wfo, g))
                    continue
                if lf == "in_proj_bias":
                    key = f"{par}.in_proj_weight" if par else "in_proj_weight"
                    wfi, wfo = torch_fans(shapes.get(key, ()))
                    out.append(RoleInfo("bias", wfi, wfo))
                    continue
                if (sib_w is not None and len(sib_w) == 1) or NORM_HINT_RE.search(par or ""):
                    out.append(RoleInfo("norm_bias"))
                    continue
                out.append(RoleInfo("bias"))
                continue
        out.append(RoleInfo("other", fi, fo))
    return out


# ---------------------------------------------------------------- fine roles (what paramstat.init fits and samples)

Q_RE = re.compile(r"(^|\.)(q|query|q_proj)$")
K_RE = re.compile(r"(^|\.)(k|key|k_proj)$")
V_RE = re.compile(r"(^|\.)(v|value|v_proj)$")
QKV_RE = re.compile(r"(^|\.)(qkv|in_proj|c_attn|query_key_value|Wqkv)$")
PROJ_RE = re.compile(r"(attn|attention)\.(proj|out_proj|o_proj|c_proj)$|attention\.output\.dense$|(^|\.)out_proj$")


def linear_role(module_name: str) -> str:
    """Role of an nn.Linear from its qualified name: attention projections are named, not typed."""
    if PROJ_RE.search(module_name):
        return "attn_proj"
    if Q_RE.search(module_name):
        return "attn_q"
    if K_RE.search(module_name):
        return "attn_k"
    if V_RE.search(module_name):
        return "attn_v"
    return "linear"


def fine_roles(role: str, name: str, shape: tuple[int, ...], *, groups: int | None = None,
               fan_in: int | None = None, fan_out: int | None = None, bn: bool = False, bias_kernel: int = 1,
               split_qkv: bool = True) -> list[tuple[str, slice | None, str, int, int, int]]:
    """Fine roles of one tensor whose paramstat role is ``role``: [(name suffix, row block, fine role,
    fan_in, fan_out, kernel)] (three entries '[q]' '[k]' '[v]' for a fused q/k/v weight, else one).
    ``groups``/``fan_in``/``fan_out``: the record's (linear fans as the reader gives them, e.g. ONNX LSTM
    gates*hidden); ``bn``: a norm parameter of a BatchNorm; ``bias_kernel``: the kernel of a bias's weight."""
    n = math.prod(int(x) for x in shape)
    lf, mod = leaf(name), parent(name)
    if role in ("conv", "dwconv") and len(shape) >= 3:
        rf = math.prod(int(x) for x in shape[2:])
        g = groups or (int(shape[0]) if role == "dwconv" else 1)
        fine = "dwconv" if role == "dwconv" else ("pwconv" if rf == 1 else "conv")
        return [("", None, fine, int(shape[1]) * rf, max(1, goog_fan_out(shape, g)), kernel_size(shape))]
    if role in ("linear", "attn_in_proj") and len(shape) == 2:
        fi = int(fan_in) if fan_in else int(shape[1])
        fo = int(fan_out) if fan_out else int(shape[0])
        fine = linear_role(mod) if role == "linear" else "linear"
        qkv = re.fullmatch(r"([qkv])_proj_weight", lf)
        if qkv:
            return [("", None, f"attn_{qkv.group(1)}", fi, fo, 1)]
        if (role == "attn_in_proj" or (fine == "linear" and QKV_RE.search(mod))) and shape[0] % 3 == 0 and split_qkv:
            e = int(shape[0]) // 3
            return [(f"[{r[-1]}]", slice(i * e, (i + 1) * e), r, fi, e, 1)
                    for i, r in enumerate(("attn_q", "attn_k", "attn_v"))]
        return [("", None, fine, fi, fo, 1)]
    if role == "embedding" and len(shape) == 2:
        return [("", None, "embedding", int(shape[1]), int(shape[0]), 1)]
    if role == "positional":
        fi, fo = (int(shape[-1]), int(shape[0])) if lf == "weight" and len(shape) >= 2 else (n, n)
        return [("", None, "positional", fi, fo, 1)]
    if role in ("norm_weight", "norm_bias"):
        return [("", None, ("bn_" if bn else "norm_") + role[5:], n, n, 1)]
    if role == "bias":
        return [("", None, "bias", int(fan_in) if fan_in else n, n, bias_kernel)]
    return [("", None, "other", n, n, 1)]


# ---------------------------------------------------------------- the seed's Table-3 layer type

ROLE_TYPE = {"conv": "Conv weight", "dwconv": "DWConv weight", "linear": "FC weight",
             "attn_in_proj": "Attn in-proj weight", "embedding": "Embedding", "positional": "Positional"}


def _sib(prefix: str, lf: str) -> str:
    return f"{prefix}.{lf}" if prefix else lf


def norm_kind(rec, names: set[str]) -> str:
    """'BN', 'LN', 'GN', 'RMSNorm' or 'Norm' for a norm tensor: its module type, else running stats beside it
    (BN), else its module's name (ln*/layernorm* -> LN, bn*/batchnorm* -> BN)."""
    mt = (rec.module_type or "").lower()
    if "batchnorm" in mt:
        return "BN"
    if "layernorm" in mt:
        return "LN"
    if "groupnorm" in mt:
        return "GN"
    if "rmsnorm" in mt:
        return "RMSNorm"
    prefix = rec.name.rpartition(".")[0]
    if _sib(prefix, "running_mean") in names or _sib(prefix, "running_var") in names:
        return "BN"
    last = prefix.rpartition(".")[2].lower()
    if last.startswith(("ln", "layernorm", "layer_norm")):
        return "LN"
    if last.startswith(("bn", "batchnorm")):
        return "BN"
    return "Norm"


def layer_type(rec, by_name: dict) -> str:
    """The seed's Table 3 'layer type' of a tensor: 'Conv weight', 'FC bias', 'BN weight', 'PReLU slope' ..."""
    if rec.role in ROLE_TYPE:
        return ROLE_TYPE[rec.role]
    names = by_name   # a dict: membership in O(1), never copied per tensor (a set per call was O(n^2))
    prefix, _, lf = rec.name.rpartition(".")
    if rec.role == "norm_weight":
        if (rec.module_type or "").lower() == "prelu" or "prelu" in rec.name.lower():
            return "PReLU slope"   # a 1-D 'weight' like a norm scale, but an activation's (init 0.25)
        return f"{norm_kind(rec, names)} weight"
    if rec.role == "norm_bias":
        return f"{norm_kind(rec, names)} bias"
    if rec.role == "running_stat" or lf == "num_batches_tracked":
        lf = "batch count" if lf == "num_batches_tracked" else lf
        return f"{norm_kind(rec, names)} {lf}"
    if rec.role == "bias":
        par = by_name.get(_sib(prefix, "weight"))
        if par is not None and par.role in ROLE_TYPE:
            return ROLE_TYPE[par.role].removesuffix(" weight") + " bias"
        return "Bias"
    return "Other"


def layer_types(records) -> dict[str, str]:
    """name -> `layer_type` for every record."""
    by_name = {r.name: r for r in records}
    return {r.name: layer_type(r, by_name) for r in records}
