"""Roles, fans and PyTorch layout of a Keras layer's weights (see paramstat.sources.readers.keras.reader):
the layer's class and variable leaves in, (RoleInfo, shown shape, transform) per weight out."""
from __future__ import annotations

import dataclasses

import numpy as np

from ....stats.shapes import torch_fans
from ...roles import RoleInfo
from .classes import DWCONV, NORM, OPAQUE, TCONV


def _transform(kind: str, shape: tuple[int, ...]):
    """(shown shape, function keras array -> PyTorch-layout contiguous array)."""
    nd = len(shape)
    if kind == "t2":
        return (shape[1], shape[0]), lambda a: np.ascontiguousarray(a.T)
    if kind == "conv":
        perm = (nd - 1, nd - 2) + tuple(range(nd - 2))
        return tuple(shape[i] for i in perm), lambda a: np.ascontiguousarray(a.transpose(perm))
    if kind == "dw":
        k, cin, mult = shape[:-2], shape[-2], shape[-1]
        perm = (nd - 2,) + tuple(range(nd - 2))

        def f(a):
            return np.ascontiguousarray(a.reshape(*k, cin * mult).transpose(perm)[:, None])
        return (cin * mult, 1) + tuple(k), f
    return tuple(shape), None


def _kernel_kind(cls: str | None, leaf: str, shape: tuple[int, ...]) -> str | None:
    if cls in OPAQUE or len(shape) < 2:
        return None
    if leaf == "depthwise_kernel" or (cls in DWCONV and leaf == "kernel"):
        return "dw" if len(shape) >= 3 else None
    if leaf not in ("kernel", "recurrent_kernel", "pointwise_kernel"):
        return None
    if len(shape) == 2:
        return "t2"
    return "conv" if len(shape) <= 5 else None


def _layer_infos(cls: str | None, cfg: dict, leaves: list[str], shapes: list[tuple[int, ...]]):
    """Per weight of one layer: (RoleInfo, shown shape, transform or None)."""
    out: list = [None] * len(leaves)
    kernel_info = None
    for i, (leaf, shape) in enumerate(zip(leaves, shapes)):
        kind = _kernel_kind(cls, leaf, shape)
        if kind is None:
            continue
        shown, fn = _transform(kind, shape)
        fi, fo = torch_fans(shown)
        if kind == "dw":
            g = int(shape[-2])
            info = RoleInfo("dwconv" if g > 1 else "conv", fi, fo, g, cls)
        elif kind == "conv":
            g = int(cfg.get("groups") or 1) if cls not in TCONV else 1
            dw = g > 1 and shown[1] == 1
            info = RoleInfo("dwconv" if dw else "conv", fi, fo, g, cls)
        else:
            info = RoleInfo("embedding" if leaf == "embeddings" else "linear", fi, fo, None, cls)
        out[i] = (info, shown, fn)
        if leaf in ("kernel", "pointwise_kernel") or kernel_info is None:
            kernel_info = info if leaf != "recurrent_kernel" else kernel_info or info
    for i, (leaf, shape) in enumerate(zip(leaves, shapes)):
        if out[i] is not None:
            continue
        shape = tuple(shape)
        if leaf in ("moving_mean", "moving_variance"):
            info = RoleInfo("running_stat", module_type=cls)
        elif leaf in ("gamma", "scale") and len(shape) == 1 and (cls in NORM or cls is None or cls == "PReLU"):
            info = RoleInfo("norm_weight", module_type=cls)
        elif leaf == "beta" and len(shape) == 1:
            info = RoleInfo("norm_bias", module_type=cls)
        elif leaf == "bias" and kernel_info is not None and cls not in OPAQUE:
            info = RoleInfo("bias", kernel_info.fan_in, kernel_info.fan_out, kernel_info.groups, cls)
        elif leaf == "bias":
            info = RoleInfo("bias", module_type=cls)
        elif leaf == "embeddings" and len(shape) == 2:
            fi, fo = torch_fans(shape)
            info = RoleInfo("embedding", fi, fo, None, cls)
        else:
            info = RoleInfo("other", module_type=cls)
        out[i] = (info, shape, None)
    rk = [o[1] for lf, o in zip(leaves, out) if lf == "recurrent_kernel" and len(o[1]) == 2]
    if rk:   # recurrent layer: recurrent_kernel (hidden, gates*hidden), shown as (gates*hidden, hidden)
        out = [(dataclasses.replace(info, hidden_size=int(rk[0][1])), shown, fn) for info, shown, fn in out]
    return out
