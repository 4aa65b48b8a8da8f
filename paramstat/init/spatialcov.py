"""Spatial covariance of conv filters, the part of a native profile that gives k x k kernels their shape:
the k^2 x k^2 covariance of the filters' spatial entries, each tensor standardised, pooled over tensors
and normalised to mean diagonal 1 (Trockman et al., ICLR 2023, "Understanding the Covariance Structure of
Convolutional Filters"), per kernel size and per depth band.
"""
from __future__ import annotations

import numpy as np

DEPTH_BANDS = ((0.0, 1 / 3), (1 / 3, 2 / 3), (2 / 3, 1.0 + 1e-9))
BAND_MIN_TENSORS = 2      # a depth band gets its own covariance from >= 2 tensors


def _cov_of(tensors: list[np.ndarray], k: int) -> tuple[np.ndarray, int] | None:
    c, n = np.zeros((k * k, k * k)), 0
    for w in tensors:
        f = w.reshape(-1, k * k).astype(np.float64)
        sd = f.std()
        if not sd > 0:
            continue
        f = (f - f.mean()) / sd
        c += f.T @ f
        n += f.shape[0]
    if n == 0:
        return None
    cov = c / n
    return cov / np.mean(np.diag(cov)), n


def spatial_cov(tensors: list) -> dict[str, dict]:
    """Pooled, normalised k^2 x k^2 covariance of the spatial entries of conv filters, per kernel size k
    (3x3, 5x5, 7x7 ... each on its own; the role keeps depthwise and dense apart). Items: arrays or
    (array, rel_depth) pairs; with depths, each depth band of DEPTH_BANDS with >= BAND_MIN_TENSORS tensors
    also gets its own covariance under 'bands' (trained filters differ by depth: per-layer top-eigenvalue
    share 0.25-0.75 on a CIFAR ResNet-20). 'n_tensors' / 'n_filters' say how much stands behind each."""
    by_k: dict[int, list] = {}
    for item in tensors:
        w, depth = item if isinstance(item, tuple) else (item, None)
        if w.ndim != 4 or w.shape[2] != w.shape[3] or w.shape[2] < 2:
            continue
        by_k.setdefault(int(w.shape[2]), []).append((w, depth))
    out = {}
    for k, items in sorted(by_k.items()):
        got = _cov_of([w for w, _ in items], k)
        if got is None:
            continue
        cov, n = got
        e = {"cov": np.round(cov, 5).tolist(), "n_filters": int(n), "n_tensors": len(items)}
        bands = []
        for lo, hi in DEPTH_BANDS:
            ws = [w for w, d in items if d is not None and lo <= d < hi]
            if len(ws) >= BAND_MIN_TENSORS and len(ws) < len(items):
                bc = _cov_of(ws, k)
                if bc is not None:
                    bands.append({"rel_depth": [round(lo, 4), round(min(hi, 1.0), 4)],
                                  "cov": np.round(bc[0], 5).tolist(), "n_filters": int(bc[1]), "n_tensors": len(ws)})
        if bands:
            e["bands"] = bands
        out[str(k)] = e
    return out


def band_cov(sc: dict, rel_depth: float) -> dict:
    """The covariance entry for a tensor at ``rel_depth``: its depth band's where the profile has one, else
    the pooled one."""
    for b in sc.get("bands", ()):
        lo, hi = b["rel_depth"]
        if lo <= rel_depth < hi or (hi >= 1.0 and rel_depth >= lo):
            return b
    return sc
