"""Keras layer classes and their variables: class sets, variable names per class, legacy leaf names, the
model config's layers (``config_layers``) and a layer's class from the config or its snake_case name."""
from __future__ import annotations

import json
import re

import numpy as np

DENSE = {"Dense", "QDense"}
CONV = {"Conv1D", "Conv2D", "Conv3D", "Convolution1D", "Convolution2D", "Convolution3D", "ConvLSTM1D",
        "ConvLSTM2D", "ConvLSTM3D"}
TCONV = {"Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose", "Convolution2DTranspose",
         "Convolution3DTranspose", "Deconvolution2D", "Deconvolution3D"}
DWCONV = {"DepthwiseConv1D", "DepthwiseConv2D"}
SEPCONV = {"SeparableConv1D", "SeparableConv2D", "SeparableConvolution1D", "SeparableConvolution2D"}
RNN = {"LSTM", "GRU", "SimpleRNN", "LSTMCell", "GRUCell", "SimpleRNNCell", "CuDNNLSTM", "CuDNNGRU"}
NORM = {"BatchNormalization", "SyncBatchNormalization", "LayerNormalization", "GroupNormalization",
        "RMSNormalization"}
OPAQUE = {"EinsumDense", "MultiHeadAttention", "GroupQueryAttention"}  # kernels not in a (in, out) layout
WRAPPERS = {"Bidirectional", "TimeDistributed", "Wrapper"}
KNOWN = DENSE | CONV | TCONV | DWCONV | SEPCONV | RNN | NORM | OPAQUE | {"Embedding", "PReLU"}

# Keras 3 variable order per class: (name, config flag that makes it optional)
_KB = (("kernel", None), ("bias", "use_bias"))
VARS = {**{c: _KB for c in DENSE | CONV | TCONV | DWCONV},
        **{c: (("depthwise_kernel", None), ("pointwise_kernel", None), ("bias", "use_bias")) for c in SEPCONV},
        **{c: (("kernel", None), ("recurrent_kernel", None), ("bias", "use_bias")) for c in RNN},
        "BatchNormalization": (("gamma", "scale"), ("beta", "center"), ("moving_mean", None),
                               ("moving_variance", None)),
        "SyncBatchNormalization": (("gamma", "scale"), ("beta", "center"), ("moving_mean", None),
                                   ("moving_variance", None)),
        "LayerNormalization": (("gamma", "scale"), ("beta", "center")),
        "GroupNormalization": (("gamma", "scale"), ("beta", "center")),
        "RMSNormalization": (("scale", None),),
        "Embedding": (("embeddings", None),),
        "PReLU": (("alpha", None),)}
LEGACY_LEAF = {"W": "kernel", "b": "bias", "U": "recurrent_kernel", "running_mean": "moving_mean",
               "running_std": "moving_variance"}


def to_snake_case(name: str) -> str:
    """Keras' naming.to_snake_case (the default layer / Keras 3 group names)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub("([a-z])([A-Z])", r"\1_\2", name)
    return name.lower()


SNAKE = {to_snake_case(c): c for c in sorted(KNOWN)}



def _list_attr(attrs, name: str) -> list[str]:
    """A string-list attribute, joined when Keras split it into name0, name1, ... (HDF5 64 KiB limit)."""
    if name in attrs:
        vals = list(np.atleast_1d(attrs[name]))
    else:
        vals, i = [], 0
        while f"{name}{i}" in attrs:
            vals += list(np.atleast_1d(attrs[f"{name}{i}"]))
            i += 1
    return [v.decode("utf8") if isinstance(v, bytes) else str(v) for v in vals]


def _json_attr(attrs, name: str):
    v = attrs.get(name)
    if v is None:
        return None
    try:
        return json.loads(v.decode("utf8") if isinstance(v, bytes) else str(v))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        return None


# ------------------------------------------------------------------------------------------------ config

def config_layers(cfg) -> dict[str, tuple[int, str, dict]]:
    """Layer name -> (network position, class_name, config), walking nested models and wrappers in order."""
    out: dict[str, tuple[int, str, dict]] = {}

    def walk(node):
        if not isinstance(node, dict):
            return
        cls = str(node.get("class_name", ""))
        c = node.get("config")
        layers = c if isinstance(c, list) else (c or {}).get("layers") if isinstance(c, dict) else None
        c = c if isinstance(c, dict) else {}
        name = c.get("name", node.get("name"))
        if isinstance(name, str) and name not in out:
            out[name] = (len(out), cls, c)
        for sub in layers or []:
            walk(sub)
        for k in ("layer", "backward_layer"):
            walk(c.get(k))

    walk(cfg)
    return out


def _class_of(cfg: dict, names: list[str], keys: list[str] = ()) -> tuple[str | None, dict]:
    """Class and config of the deepest of ``names`` the config knows, else of the deepest Keras 3 group key
    or name that is a known class in snake_case (``conv2d_transpose_1`` -> Conv2DTranspose)."""
    for n in reversed(names):
        if n in cfg:
            _pos, cls, c = cfg[n]
            if cls in WRAPPERS and isinstance(c.get("layer"), dict):
                inner = c["layer"]
                return str(inner.get("class_name")), inner.get("config") or {}
            if cls:
                return cls, c
    for n in list(reversed(keys)) + list(reversed(names)):
        base = re.sub(r"_\d+$", "", n)
        for cand in (base, re.sub(r"^(forward|backward)_", "", base)):
            if cand in SNAKE:
                return SNAKE[cand], {}
    return None, {}
