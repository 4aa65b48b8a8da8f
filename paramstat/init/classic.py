"""Classic weight inits, one function per scheme, applied to a `layers.Slot`.

fan_in / fan_out follow torch.nn.init (conv: channels x k*k, not divided by groups) for the
torch-backed schemes. Variances (n_in = fan_in, n_out = fan_out):

- xavier_normal   N(0, 2/(n_in+n_out))            Glorot & Bengio 2010, eq. 16
- xavier_uniform  U(+-sqrt(6/(n_in+n_out)))       Glorot & Bengio 2010
- kaiming_normal  N(0, 2/n_in)   ('he_normal')    He et al. 2015 (ReLU gain sqrt 2)
- kaiming_uniform U(+-sqrt(6/n_in)) ('he_uniform')
- kaiming_normal_fan_out N(0, 2/n_out)            torchvision/timm ResNet
- lecun_normal    truncated normal at +-2 sd, rescaled so Var = 1/n_in (JAX / timm convention)
- orthogonal      (semi-)orthogonal rows/cols, gain 1 (Saxe et al. 2014)
- trunc_normal    nn.init.trunc_normal_(std=0.02) with its absolute bounds +-2, i.e. in effect N(0, .02^2)
- he_trunc        normal truncated at +-2 sd, rescaled so Var = 2/n_in (Hanin & Rolnick 2018)
- he_2x           N(0, 4/n_in)  (twice He: Hanin & Rolnick's failing variance)
- fan_in_1        N(0, 1/n_in)  (half He: Hanin & Rolnick's failing variance)

Biases are set to 0 and norm layers to weight 1 / bias 0 by `apply_init`.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..stats.shapes import torch_fans

# Var of a standard normal truncated at +-2 sd: 1 - 2*2*phi(2)/(Phi(2)-Phi(-2))
_TRUNC2_VAR = 1.0 - 4.0 * math.exp(-2.0) / math.sqrt(2 * math.pi) / math.erf(2 / math.sqrt(2))

SCHEMES = (
    "default", "xavier_normal", "xavier_uniform", "kaiming_normal", "kaiming_uniform",
    "kaiming_normal_fan_out", "lecun_normal", "orthogonal", "trunc_normal", "he_trunc", "he_2x",
    "fan_in_1", "lsuv", "native",
)
ALIASES = {"he_normal": "kaiming_normal", "he_uniform": "kaiming_uniform", "xavier": "xavier_uniform",
           "glorot_normal": "xavier_normal", "glorot_uniform": "xavier_uniform", "lecun": "lecun_normal"}


def canonical(scheme: str) -> str:
    s = ALIASES.get(scheme, scheme)
    if s not in SCHEMES:
        from ..errors import ParamstatError

        raise ParamstatError(f"unknown init scheme {scheme!r}",
                             hint="one of " + ", ".join(SCHEMES + tuple(ALIASES)))
    return s


def fans(t: torch.Tensor) -> tuple[int, int]:
    """torch.nn.init convention: fan_in = size(1) * receptive field, fan_out = size(0) * receptive field."""
    if t.dim() < 2:
        return int(t.numel()), int(t.numel())
    return torch_fans(tuple(t.shape))


def _trunc_normal(t: torch.Tensor, var: float, g: torch.Generator) -> None:
    sd = math.sqrt(var / _TRUNC2_VAR)
    nn.init.trunc_normal_(t, 0.0, sd, -2 * sd, 2 * sd, generator=g)


def init_tensor(t: torch.Tensor, scheme: str, g: torch.Generator) -> None:
    """Fill ``t`` (a weight view, >= 2-D) in place with ``scheme``."""
    fi, fo = fans(t)
    with torch.no_grad():
        if scheme == "xavier_normal":
            nn.init.xavier_normal_(t, generator=g)
        elif scheme == "xavier_uniform":
            nn.init.xavier_uniform_(t, generator=g)
        elif scheme == "kaiming_normal":
            nn.init.kaiming_normal_(t, mode="fan_in", nonlinearity="relu", generator=g)
        elif scheme == "kaiming_uniform":
            nn.init.kaiming_uniform_(t, mode="fan_in", nonlinearity="relu", generator=g)
        elif scheme == "kaiming_normal_fan_out":
            nn.init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu", generator=g)
        elif scheme == "lecun_normal":
            _trunc_normal(t, 1.0 / fi, g)
        elif scheme == "orthogonal":
            nn.init.orthogonal_(t, generator=g)
        elif scheme == "trunc_normal":
            nn.init.trunc_normal_(t, std=0.02, generator=g)
        elif scheme == "he_trunc":
            _trunc_normal(t, 2.0 / fi, g)
        elif scheme == "he_2x":
            nn.init.normal_(t, 0.0, math.sqrt(4.0 / fi), generator=g)
        elif scheme == "fan_in_1":
            nn.init.normal_(t, 0.0, math.sqrt(1.0 / fi), generator=g)
        else:
            raise ValueError(f"init_tensor: no classic scheme {scheme!r}")
