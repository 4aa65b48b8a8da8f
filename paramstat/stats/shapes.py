"""Shape formulas: fans, kernel size and the matrix view of a weight (the one home of these facts).

- ``torch_fans(shape)``: torch.nn.init._calculate_fan_in_and_fan_out on a weight
  ``(out, in/groups, *k)``: fan_in = shape[1] * prod(k), fan_out = shape[0] * prod(k)
  (torch does not divide fan_out by groups; None, None for fewer than 2 dims, where torch raises).
- ``goog_fan_out(shape, groups)``: timm ``_init_weight_goog`` for a conv,
  fan_out = kh * kw * out // groups (``fan_out //= m.groups``; timm/models/_efficientnet_builder.py).
- ``kernel_size(shape)``: the spatial kernel k of a k x k (x k ...) conv weight,
  round(prod(shape[2:]) ** (1 / (ndim - 2))); 1 for linear and 1-D tensors.
- ``as_matrix(w)``: conv (out, in/groups, *k) -> (out, in/groups * prod(k)); 2-D unchanged;
  1-D -> (1, n) (the matrix of the spectral statistics).
- ``squeezed_matrix(w)``: size-1 dims dropped first, then as ``as_matrix`` (a (1, n, 1, 1) weight is
  (1, n); a (n, 1, 3, 3) depthwise conv is (n, 9)) -- the matrix of the per-tensor features.
"""
from __future__ import annotations

import math

import numpy as np


def _receptive_field(shape) -> int:
    rf = 1
    for s in tuple(shape)[2:]:
        rf *= int(s)
    return rf


def torch_fans(shape) -> tuple[int | None, int | None]:
    """fan_in, fan_out as torch.nn.init._calculate_fan_in_and_fan_out (None, None for ndim < 2)."""
    shape = tuple(shape)
    if len(shape) < 2:
        return None, None
    rf = _receptive_field(shape)
    return int(shape[1]) * rf, int(shape[0]) * rf


def goog_fan_out(shape, groups: int | None = 1) -> int | None:
    """timm ``_init_weight_goog`` conv fan_out: prod(k) * out // groups (None for ndim < 2)."""
    shape = tuple(shape)
    if len(shape) < 2:
        return None
    return int(shape[0]) * _receptive_field(shape) // int(groups or 1)


def kernel_size(shape) -> int:
    """k of a k x k conv weight (out, in, k, k): round(prod(shape[2:]) ** (1/(ndim-2))); 1 when ndim <= 2."""
    shape = tuple(shape)
    if len(shape) <= 2:
        return 1
    rf = math.prod(int(x) for x in shape[2:])
    return int(round(rf ** (1.0 / (len(shape) - 2))))


def as_matrix(w) -> np.ndarray:
    """Conv (out, in/groups, *k) -> (out, in/groups*prod(k)); 2-D unchanged; 1-D -> (1, n)."""
    w = np.asarray(w)
    if w.ndim == 2:
        return w
    if w.ndim < 2:
        return w.reshape(1, -1)
    return w.reshape(w.shape[0], -1)


def squeezed_matrix(x_nd) -> np.ndarray:
    """Size-1 dims dropped, then (out, rest): (out, in/groups * kh * kw) for convs, 1-D -> (1, n)."""
    x_nd = np.asarray(x_nd)
    sq = x_nd.reshape([s for s in x_nd.shape if s > 1] or [1])
    if sq.ndim == 1:
        return sq.reshape(1, -1)
    return sq.reshape(sq.shape[0], -1)
