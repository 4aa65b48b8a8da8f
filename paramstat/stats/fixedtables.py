"""Deterministic position tables: sinusoids that models store as weights but never draw at random.

A sinusoidal position table T (L positions x C channels, C even, h = C / 2) is a formula, not an init law:
no seed, no fan, the same values in a fresh and in a trained checkpoint when the library freezes it. The
forms the libraries write (frequencies w_k, k = 0 .. h-1):
- ``whisper``: transformers' ``modeling_whisper.sinusoids(length, channels)`` (OpenAI Whisper's encoder table,
  an nn.Embedding that WhisperEncoder freezes with requires_grad_(False)), also fairseq's / transformers'
  ``SinusoidalPositionalEmbedding.get_embedding`` (M2M100, Speech2Text): w_k = exp(-k log(10000) / (h - 1)),
  T = [sin(p w) | cos(p w)] (sines in the first h channels).
- ``halves``: Marian / Pegasus / RoFormer (``_init_weight`` of their SinusoidalPositionalEmbedding):
  w_k = 10000^(-2k / C), T = [sin(p w) | cos(p w)].
- ``interleaved``: Vaswani et al. 2017, DistilBERT's ``create_sinusoidal_embeddings``: w_k = 10000^(-2k / C),
  T[:, 2k] = sin(p w_k), T[:, 2k + 1] = cos(p w_k).
A tensor matches a form when max |T - x| <= 1e-3 + 2 ulp(1) of its dtype: the libraries compute the
arguments p w_k in float32 (an ulp of p w at p = 1500 is 1.2e-4, so sin/cos of it differ by as much from the
float64 formula), and a float16 / bfloat16 copy rounds every value by up to half an ulp of 1. A random or
trained table is off by O(its scale) almost everywhere. Row 0 (p = 0) is (0 .. 0, 1 .. 1) for the halves
forms and (0, 1, 0, 1 ..) interleaved, which a random table never is: the check costs one row unless it
holds.
"""
from __future__ import annotations

import math

import numpy as np

FORMS = ("whisper", "halves", "interleaved")
ABS_TOL = 1e-3


def _ulp1(dtype: str) -> float:
    return {"float64": 2.0 ** -52, "float32": 2.0 ** -23, "float16": 2.0 ** -10, "bfloat16": 2.0 ** -7}.get(
        dtype, 2.0 ** -7)


def sinusoid_table(form: str, length: int, channels: int) -> np.ndarray:
    """The (length, channels) table of ``form`` (module doc), in float64."""
    h = channels // 2
    k = np.arange(h, dtype=np.float64)
    if form == "whisper":
        w = np.exp(-k * math.log(10000.0) / max(h - 1, 1))
    elif form in ("halves", "interleaved"):
        w = 10000.0 ** (-2.0 * k / channels)
    else:
        raise ValueError(form)
    a = np.arange(length, dtype=np.float64)[:, None] * w[None, :]
    if form == "interleaved":
        t = np.empty((length, channels))
        t[:, 0::2], t[:, 1::2] = np.sin(a), np.cos(a)
        return t
    return np.concatenate([np.sin(a), np.cos(a)], axis=1)


def match_sinusoid(x2d: np.ndarray, dtype: str = "float32") -> dict | None:
    """{'form', 'max_abs_err', 'tol', 'shape'} when the 2-D ``x2d`` (positions x channels) is one of the
    sinusoid tables of the module doc to ``tol`` = 1e-3 + 2 ulp(1) of ``dtype``, else None."""
    x = np.asarray(x2d)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 4 or x.shape[1] % 2:
        return None
    length, channels = (int(s) for s in x.shape)
    h = channels // 2
    tol = ABS_TOL + 2.0 * _ulp1(dtype)
    row0 = np.asarray(x[0], dtype=np.float64)
    halves0 = np.concatenate([np.zeros(h), np.ones(h)])
    inter0 = np.tile([0.0, 1.0], h)
    forms = ([f for f in ("whisper", "halves") if np.max(np.abs(row0 - halves0)) <= tol]
             + (["interleaved"] if np.max(np.abs(row0 - inter0)) <= tol else []))
    if not forms or not np.all(np.isfinite(x)):
        return None
    xf = x.astype(np.float64)
    for form in forms:
        err = float(np.max(np.abs(xf - sinusoid_table(form, length, channels))))
        if err <= tol:
            return {"form": form, "max_abs_err": err, "tol": tol, "shape": [length, channels]}
    return None
