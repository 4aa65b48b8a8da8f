"""Seeded subsampling: the one place paramstat draws positions from a tensor.

Streams: ``rng(seed, key, *streams)`` is numpy ``default_rng`` on the entropy words
``[seed, crc32(key), *streams]`` (``seed`` alone when there is no key; ``key`` alone when
``seed is None``). A key (the tensor's name) makes A and B of a comparison, and reruns in any
tensor order, draw the same positions. numpy's SeedSequence treats ``s`` and ``[s]`` alike, so
``rng(s)`` is ``default_rng(s)``.
Draws: ``replace=True`` takes ``Generator.integers(0, n, k)`` (uniform with replacement, the cheap
draw for millions of values); ``replace=False`` takes ``Generator.choice(n, k, replace=False)``.
Nothing is drawn, and the data come back as they are, when ``n <= k``.
``crop`` keeps at most ``max_rows`` x ``max_cols`` of a matrix: rows first, then columns, each a
sorted choice without replacement from the same generator.
"""
from __future__ import annotations

import zlib

import numpy as np


def key_word(key: str) -> int:
    """crc32 of the UTF-8 key: the key's entropy word."""
    return zlib.crc32(key.encode())


def rng(seed: int | None = 0, key: str | None = None, *streams: int) -> np.random.Generator:
    """default_rng(seed) or default_rng([seed, crc32(key), *streams]) (module doc)."""
    if key is None and not streams:
        return np.random.default_rng(seed)
    words = [] if seed is None else [int(seed)]
    if key is not None:
        words.append(key_word(key))
    return np.random.default_rng([*words, *(int(s) for s in streams)])


def sample_index(n: int, k: int, *, seed: int | None = 0, key: str | None = None, replace: bool = True,
                 sort: bool = False, rng: np.random.Generator | None = None) -> np.ndarray | None:
    """Indices of k of n positions (None when n <= k: take all), drawn as the module doc says."""
    if n <= k:
        return None
    g = rng if rng is not None else _rng(seed, key)
    idx = g.integers(0, n, size=k) if replace else g.choice(n, k, replace=False)
    return np.sort(idx) if sort else idx


def subsample(x, k: int, *, seed: int | None = 0, key: str | None = None, replace: bool = True,
              sort: bool = False, rng: np.random.Generator | None = None) -> np.ndarray:
    """At most k values of the flattened ``x`` (``x`` itself, flattened, when x.size <= k)."""
    flat = np.asarray(x).reshape(-1)
    idx = sample_index(flat.size, k, seed=seed, key=key, replace=replace, sort=sort, rng=rng)
    return flat if idx is None else flat[idx]


def crop(w2d, max_rows: int, max_cols: int, *, seed: int | None = 0, key: str | None = None,
         streams: tuple[int, ...] = (), rng: np.random.Generator | None = None) -> np.ndarray:
    """At most max_rows x max_cols of the matrix: sorted rows, then sorted columns, without replacement."""
    w = np.asarray(w2d)
    ri, ci = crop_index(w.shape, max_rows, max_cols, seed=seed, key=key, streams=streams, rng=rng)
    if ri is not None:
        w = w[ri]
    if ci is not None:
        w = w[:, ci]
    return w


def crop_index(shape, max_rows: int, max_cols: int, *, seed: int | None = 0, key: str | None = None,
               streams: tuple[int, ...] = (), rng: np.random.Generator | None = None):
    """(sorted row indices or None, sorted column indices or None) that ``crop`` keeps (the same draws:
    rows first, then columns), e.g. to gather a crop of a transposed matrix from the stored one."""
    g = rng if rng is not None else _rng(seed, key, *streams)
    rows, cols = (int(s) for s in shape)
    ri = np.sort(g.choice(rows, max_rows, replace=False)) if rows > max_rows else None
    ci = np.sort(g.choice(cols, max_cols, replace=False)) if cols > max_cols else None
    return ri, ci


_rng = rng
