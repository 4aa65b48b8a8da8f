"""Shapeset-3x2 (after Glorot & Bengio 2010), written from the description in BRIEF §5.

Each image is ``size x size`` grey with one or two filled convex shapes among triangle, parallelogram
and ellipse (a 20-gon). Nine classes: the three single shapes and the six unordered pairs
(with repetition). Per shape: rotation uniform in [0, 2pi), scale (diameter of the circumscribed
circle) uniform in 0.2-0.8 of the image, an aspect ratio in 0.5-1 (and a shear in +-0.5 for
parallelograms), position uniform among placements fully inside the image. Shape grey uniform in
0.55-1.0, background uniform in 0-0.45; with probability 1/2 the two ranges are swapped (dark shapes on
a bright background). The second shape is drawn on top of the first; pairs whose overlap
``|A & B| / min(|A|, |B|)`` exceeds 0.5 are re-drawn (rejection sampling). Pixel centres are tested
against the polygon's half-planes (no anti-aliasing). Pixels are mapped to [-1, 1] by ``2 v - 1``.

Everything is vectorised over a batch: a shape is a set of half-planes ``a x + b y + c >= 0`` and a
pixel is inside when all hold.
"""
from __future__ import annotations

import numpy as np

SHAPES = ("triangle", "parallelogram", "ellipse")
# class index -> tuple of shape ids (0 triangle, 1 parallelogram, 2 ellipse)
CLASSES: tuple[tuple[int, ...], ...] = ((0,), (1,), (2,), (0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2))
CLASS_NAMES = tuple("+".join(SHAPES[s] for s in c) for c in CLASSES)
MAX_OVERLAP = 0.5
MIN_PIXELS = 4  # a shape must cover at least this many pixels (tiny rotated slivers are re-drawn)

_N_VERT = (3, 4, 20)


def _canonical(kind: int) -> np.ndarray:
    """Vertices (K, 2), counter-clockwise, inside the unit circle."""
    k = _N_VERT[kind]
    if kind == 1:
        return np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]], dtype=np.float64) / np.sqrt(2)
    ang = np.pi / 2 + 2 * np.pi * np.arange(k) / k
    return np.stack([np.cos(ang), np.sin(ang)], axis=1)


def _draw_vertices(kind: int, m: int, rng: np.random.Generator, size: int) -> np.ndarray:
    """(m, K, 2) vertex coordinates in pixel units for m random shapes of one kind."""
    v = np.broadcast_to(_canonical(kind), (m, _N_VERT[kind], 2)).copy()
    aspect = rng.uniform(0.5, 1.0, m)
    v[:, :, 1] *= aspect[:, None]
    if kind == 1:
        shear = rng.uniform(-0.5, 0.5, m)
        v[:, :, 0] += shear[:, None] * v[:, :, 1]
        v /= np.linalg.norm(v, axis=2).max(axis=1)[:, None, None]
    theta = rng.uniform(0, 2 * np.pi, m)
    c, s = np.cos(theta), np.sin(theta)
    rot = np.stack([np.stack([c, -s], 1), np.stack([s, c], 1)], 1)  # (m, 2, 2)
    v = np.einsum("mij,mkj->mki", rot, v)
    radius = rng.uniform(0.2, 0.8, m) * size / 2
    v *= radius[:, None, None]
    lo, hi = v.min(axis=1), v.max(axis=1)  # (m, 2)
    shift = rng.uniform(0, 1, (m, 2)) * (size - (hi - lo)) - lo
    return v + shift[:, None, :]


def _masks(verts: np.ndarray, size: int) -> np.ndarray:
    """(m, size, size) bool: pixel centres inside the convex CCW polygons ``verts`` (m, K, 2)."""
    a = verts
    b = np.roll(verts, -1, axis=1)
    e = b - a  # edge vectors
    # cross(e, p - a) >= 0  <=>  -e_y * px + e_x * py + (e_y * a_x - e_x * a_y) >= 0
    coef = np.stack([-e[..., 1], e[..., 0], e[..., 1] * a[..., 0] - e[..., 0] * a[..., 1]], axis=-1)
    centres = np.arange(size, dtype=np.float32) + 0.5
    py, px = np.meshgrid(centres, centres, indexing="ij")
    grid = np.stack([px.ravel(), py.ravel(), np.ones(size * size, np.float32)])  # (3, P)
    out = np.ones((verts.shape[0], size * size), dtype=bool)
    for k in range(verts.shape[1]):
        out &= (coef[:, k, :].astype(np.float32) @ grid) >= -1e-4
    return out.reshape(-1, size, size)


def _random_masks(kinds: np.ndarray, rng: np.random.Generator, size: int) -> np.ndarray:
    """Masks for shapes of the given kinds (one per entry), re-drawing shapes under MIN_PIXELS."""
    out = np.zeros((len(kinds), size, size), dtype=bool)
    todo = np.arange(len(kinds))
    while todo.size:
        for kind in range(3):
            idx = todo[kinds[todo] == kind]
            if idx.size:
                out[idx] = _masks(_draw_vertices(kind, idx.size, rng, size), size)
        todo = todo[out[todo].sum(axis=(1, 2)) < MIN_PIXELS]
    return out


def overlap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """|A & B| / min(|A|, |B|) per image for boolean masks (m, H, W)."""
    inter = (a & b).sum(axis=(1, 2))
    return inter / np.maximum(np.minimum(a.sum(axis=(1, 2)), b.sum(axis=(1, 2))), 1)


def generate(n: int, seed: int = 0, size: int = 32, *, batch: int = 4096, return_masks: bool = False):
    """``n`` Shapeset-3x2 images: ``X`` float32 (n, 1, size, size) in [-1, 1], ``y`` int64 in 0..8
    (see ``CLASS_NAMES``). Classes are balanced (``n // 9`` each, the remainder to the first classes),
    in shuffled order. Deterministic for a given (n, seed, size). With ``return_masks`` also the
    (n, 2, size, size) shape masks (second all False for single shapes)."""
    if n < 0 or size < 4:
        raise ValueError("need n >= 0 and size >= 4")
    rng = np.random.default_rng(np.random.SeedSequence([seed, size, 0x5A5E]))
    y = np.arange(n, dtype=np.int64) % len(CLASSES)
    rng.shuffle(y)
    X = np.empty((n, 1, size, size), dtype=np.float32)
    masks = np.zeros((n, 2, size, size), dtype=bool) if return_masks else None
    for start in range(0, n, batch):
        yb = y[start:start + batch]
        m = yb.size
        first = np.array([CLASSES[c][0] for c in yb])
        second = np.array([CLASSES[c][-1] if len(CLASSES[c]) == 2 else -1 for c in yb])
        ma = _random_masks(first, rng, size)
        mb = np.zeros_like(ma)
        pair = np.flatnonzero(second >= 0)
        todo = pair
        while todo.size:
            mb[todo] = _random_masks(second[todo], rng, size)
            bad = overlap(ma[todo], mb[todo]) > MAX_OVERLAP
            todo = todo[bad]
        swap = rng.random(m) < 0.5
        bg = rng.uniform(0.0, 0.45, m)
        ga = rng.uniform(0.55, 1.0, m)
        gb = rng.uniform(0.55, 1.0, m)
        bg, ga, gb = (np.where(swap, 1.0 - v, v) for v in (bg, ga, gb))
        img = np.broadcast_to(bg[:, None, None], (m, size, size)).copy()
        img = np.where(ma, ga[:, None, None], img)
        img = np.where(mb, gb[:, None, None], img)
        X[start:start + m, 0] = (2.0 * img - 1.0).astype(np.float32)
        if masks is not None:
            masks[start:start + m, 0], masks[start:start + m, 1] = ma, mb
    if return_masks:
        return X, y, masks
    return X, y
