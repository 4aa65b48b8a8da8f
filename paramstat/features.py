"""Per-tensor features for the trained/untrained verdict: scale-free numbers computed from one tensor.

``tensor_features(record, raw)`` returns ``Features(group, values, stats, notes)``:
- ``group``: which scoring model applies — 'matrix' (conv, linear, attention, embeddings: anything with two
  non-trivial axes), 'vector' (biases, 1-D tensors, tokens), 'norm' (norm weights/biases), 'running_stat',
  or 'skipped' (integer buffers, empty tensors).
- ``values``: feature name -> float. Every feature is scale-free (ratios, shape statistics, test statistics);
  no names, no sizes. Test statistics such as KS D are also given as ``D*sqrt(n)`` (the Kolmogorov
  statistic, ~0.9 for a sample from the hypothesised law whatever n) because the data's power grows with n.
- ``stats``: JSON-able raw statistics for reports ('bits', 'moments', 'runs', 'fit', 'signature',
  'spectral', 'nonfinite').

Statistics come from ``paramstat.stats`` (bits, runs, moments, fits, signatures, spectral) on a fixed-seed
subsample where the full tensor would be slow (at most ``SUBSAMPLE`` values for distribution statistics);
small local fallbacks keep the features available while a stats module is missing.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .dtypes import LAYOUTS, as_bits, as_float

SUBSAMPLE = 32_768           # values for KS / quantile / moment statistics (fixed-seed subsample)
SPECTRAL_MAX_DIM = 256       # spectra on at most this many rows (and 4x as many cols), a fixed random subset
MATRIX_ROLES = ("conv", "dwconv", "linear", "embedding", "attn_in_proj", "positional", "other")
NORM_ROLES = ("norm_weight", "norm_bias")

# model features per group (the order used in paramstat/data/verdict_model.json)
MATRIX_FEATURES = (
    "sig_ks_stat", "sig_scale_logratio", "free_ks_stat", "robust_kurt", "kurt", "runs_z", "runs_r",
    "axis_runs_z", "spike_frac", "top_over_edge_log", "shuffle_distance", "bit0_dev", "bit1_dev",
    "mean_over_std",
)
VECTOR_FEATURES = (
    "sig_ks_stat", "sig_scale_logratio", "free_ks_stat", "robust_kurt", "kurt", "runs_z",
    "beyond_bound", "bit0_dev", "bit1_dev", "mean_over_std",
)


@dataclass
class Features:
    group: str
    values: dict = field(default_factory=dict)
    stats: dict = field(default_factory=dict)
    notes: dict = field(default_factory=dict)   # facts for rules: constant value, n, sizes


# ---------------------------------------------------------------------------------------------- helpers

def _subsample(x: np.ndarray, k: int = SUBSAMPLE, seed: int = 0) -> np.ndarray:
    if x.size <= k:
        return x
    rng = np.random.default_rng(seed)
    return x[rng.integers(0, x.size, size=k)]


def _ks_d(xs_sorted: np.ndarray, cdf) -> float:
    """Two-sided KS statistic D of a sorted sample against a continuous CDF."""
    n = xs_sorted.size
    f = cdf(xs_sorted)
    i = np.arange(1, n + 1)
    return float(max(np.max(i / n - f), np.max(f - (i - 1) / n)))


def _norm_cdf(mu: float, sd: float):
    from scipy.special import ndtr

    return lambda v: ndtr((v - mu) / sd)


def _unif_cdf(a: float, b: float):
    return lambda v: np.clip((v - a) / (b - a), 0.0, 1.0)


def _tnorm_cdf(sd: float, lo: float, hi: float):
    from scipy.special import ndtr

    clo, chi = ndtr(lo / sd), ndtr(hi / sd)
    return lambda v: np.clip((ndtr(np.clip(v, lo, hi) / sd) - clo) / (chi - clo), 0.0, 1.0)


def _safe_log10(v: float, floor: float = 1e-12) -> float:
    return math.log10(max(float(v), floor))


# ---------------------------------------------------------------------------------------------- stats

def _moments(x: np.ndarray) -> dict:
    try:
        from .stats.moments import moments

        m = moments(x)
        d = {k: float(getattr(m, k)) for k in ("mean", "std", "skew", "kurt", "median", "mad", "robust_std",
                                                "robust_kurt", "tail_weight", "min", "max")
             if hasattr(m, k)}
        if "robust_kurt" in d and "kurt" in d:
            return d
    except Exception:  # noqa: BLE001 - stats module missing or mid-edit: local fallback below
        pass
    x64 = x.astype(np.float64, copy=False)
    mean, std = float(x64.mean()), float(x64.std())
    kurt = float(((x64 - mean) ** 4).mean() / std ** 4 - 3.0) if std > 0 else float("nan")
    q = np.quantile(x64, [0.025, 0.25, 0.5, 0.75, 0.975])
    iqr = q[3] - q[1]
    # quantile tail weight relative to the normal's (q97.5-q2.5)/(q75-q25) = 2.906; 0 for a normal
    rk = float((q[4] - q[0]) / iqr / 2.906 - 1.0) if iqr > 0 else float("nan")
    return {"mean": mean, "std": std, "kurt": kurt, "median": float(q[2]), "robust_std": float(iqr / 1.349),
            "robust_kurt": rk, "min": float(x64.min()), "max": float(x64.max())}


def _value_runs(x: np.ndarray, cutoff: float | None = None) -> dict:
    """Runs about the median (estimated on the subsample when given: the test conditions on n1)."""
    try:
        from .stats.runs import value_runs

        r = value_runs(x, about="median" if cutoff is None else float(cutoff))
        return {"n": int(r.n), "runs": int(r.runs), "z": float(r.z), "constant": bool(r.constant)}
    except Exception:  # noqa: BLE001
        pass
    b = x >= (np.median(x) if cutoff is None else cutoff)
    n, n1 = b.size, int(b.sum())
    n0 = n - n1
    if n1 in (0, n) or n < 3:
        return {"n": n, "runs": 1, "z": float("nan"), "constant": True}
    runs = 1 + int(np.count_nonzero(b[1:] != b[:-1]))
    mu = 2.0 * n0 * n1 / n + 1.0
    var = (mu - 1.0) * (mu - 2.0) / (n - 1.0)
    return {"n": n, "runs": runs, "z": float((runs - mu) / math.sqrt(var)) if var > 0 else float("nan"),
            "constant": False}


def _axis_runs_z(x_nd: np.ndarray, cutoff: float) -> float:
    """Most negative median-runs Z along the conv axes (kernel / in / out), 0 when not applicable."""
    if x_nd.ndim < 3 or int(np.prod(x_nd.shape[2:])) < 2:
        return 0.0
    try:
        from .stats.runs import axis_runs

        zs = [float(r.z) for r in axis_runs(x_nd, about=float(cutoff)).values() if not r.constant]
    except Exception:  # noqa: BLE001
        zs = []
        for axis in (1, 0):  # in_channels, out_channels orders (kernel order is the memory order)
            moved = np.moveaxis(x_nd, axis, -1).reshape(-1)
            zs.append(_value_runs(moved, cutoff)["z"])
    zs = [z for z in zs if math.isfinite(z)]
    return float(min(zs)) if zs else 0.0


def _bits(raw: np.ndarray, dtype: str) -> tuple[dict, np.ndarray, int]:
    """(summary, P(bit=1) per position, number of constant low fraction bits)."""
    u = as_bits(raw, dtype).reshape(-1)
    lay = LAYOUTS[dtype]
    nbits = lay.fraction[1] + 1
    summary: dict = {}
    try:
        from .stats.bits import bit_tests

        bt = bit_tests(raw.reshape(-1), dtype)
        summary = bt.summary()
        ones = np.asarray(bt.ones, dtype=np.float64)
        freq = ones / max(u.size, 1)
    except Exception:  # noqa: BLE001
        us = _subsample(u, 1_000_000)
        freq = np.array([((us >> np.array(b, dtype=us.dtype)) & 1).mean() for b in range(min(nbits, 4))])
    low_const = 0
    # constant low fraction bits (bf16/fp16 history): count from bit 0 upwards
    for b in range(nbits):
        mask = u.dtype.type(1) << u.dtype.type(b)
        col = (u & mask) != 0
        if col.all() or not col.any():
            low_const += 1
        else:
            break
    return summary, freq, low_const


def _spectral(w2d: np.ndarray) -> dict | None:
    """MP spikes, top/edge and shuffle distance of the (rows x cols) matrix; None when too small."""
    m, n = w2d.shape
    if min(m, n) < 8:
        return None
    try:
        from .stats.spectral import spectral

        w = _crop(np.ascontiguousarray(w2d if m <= n else w2d.T))
        s = spectral(w, seed=0)
        return {"n_spikes": int(s.n_spikes), "rank": int(min(w.shape)), "top_over_edge": float(s.top_over_edge),
                "shuffle_distance": float(s.shuffle_distance), "mp_edge": float(s.mp_edge), "q": float(s.q)}
    except Exception:  # noqa: BLE001
        pass
    w = w2d if w2d.shape[0] <= w2d.shape[1] else w2d.T
    w = _crop(np.ascontiguousarray(w)).astype(np.float32)
    p, N = w.shape
    sigma2 = float((w.astype(np.float64) ** 2).mean())
    if sigma2 <= 0:
        return None
    ev = np.linalg.eigvalsh(w @ w.T / N)
    q = p / N
    edge = sigma2 * (1 + math.sqrt(q)) ** 2
    # Tracy-Widom scale of the top eigenvalue of a white Wishart matrix (Johnstone 2001), divided by N
    tw = sigma2 * (math.sqrt(N) + math.sqrt(p)) * (1 / math.sqrt(N) + 1 / math.sqrt(p)) ** (1 / 3) / N
    spikes = int(np.count_nonzero(ev > edge + 4 * tw))
    rng = np.random.default_rng(0)
    sh = rng.permutation(w.reshape(-1)).reshape(w.shape)
    ev2 = np.linalg.eigvalsh(sh @ sh.T / N)
    a = np.sort(ev) / max(ev.mean(), 1e-30)
    b = np.sort(ev2) / max(ev2.mean(), 1e-30)
    return {"n_spikes": spikes, "rank": p, "top_over_edge": float(ev[-1] / edge),
            "shuffle_distance": float(np.mean(np.abs(a - b))), "mp_edge": edge, "q": q}


def _crop(w2d: np.ndarray) -> np.ndarray:
    """A random subset of rows/cols so that neither side exceeds SPECTRAL_MAX_DIM (fixed seed)."""
    m, n = w2d.shape
    rng = np.random.default_rng(0)
    if m > SPECTRAL_MAX_DIM:
        w2d = w2d[np.sort(rng.choice(m, SPECTRAL_MAX_DIM, replace=False))]
    if n > 4 * SPECTRAL_MAX_DIM:
        w2d = w2d[:, np.sort(rng.choice(n, 4 * SPECTRAL_MAX_DIM, replace=False))]
    return w2d


# ------------------------------------------------------------------------------------------ signatures

def _candidates(role: str, fan_in: int | None, fan_out: int | None) -> list[tuple[str, str, float]]:
    """(name, family, scale) of the init laws in the BRIEF: family 'u' = U(±scale), 'n' = N(0, scale^2),
    't' = N(0, scale^2) truncated at ±2 (absolute, torch/timm trunc_normal_)."""
    c: list[tuple[str, str, float]] = []
    fi, fo = fan_in or 0, fan_out or 0
    if fi > 0:
        c += [("kaiming_uniform(a=sqrt5) / default", "u", 1 / math.sqrt(fi)),
              ("kaiming_uniform(relu, fan_in)", "u", math.sqrt(6 / fi)),
              ("kaiming_normal(relu, fan_in)", "n", math.sqrt(2 / fi)),
              ("lecun_normal / trunc_normal(sqrt(1/fan_in))", "n", math.sqrt(1 / fi))]
    if fo > 0:
        c += [("kaiming_normal(relu, fan_out)", "n", math.sqrt(2 / fo)),
              ("kaiming_uniform(relu, fan_out)", "u", math.sqrt(6 / fo))]
    if fi > 0 and fo > 0:
        c += [("xavier_uniform", "u", math.sqrt(6 / (fi + fo))), ("xavier_normal", "n", math.sqrt(2 / (fi + fo)))]
    c += [("trunc_normal(std=.02)", "t", 0.02), ("normal(std=.01)", "n", 0.01), ("normal(std=1e-6)", "n", 1e-6),
          ("normal(std=1)", "n", 1.0)]
    return c


def _signature(x_nd: np.ndarray, record, xs_sorted: np.ndarray) -> dict:
    """Best-matching init law at its exact scale: {'best', 'ks_d', 'scale_ratio'}.
    paramstat.stats.signatures when present (on a SUBSAMPLE-value subsample; orthogonal included), else
    the local candidates of ``_candidates``."""
    xs = xs_sorted
    std = float(xs.std()) if xs.size else 0.0
    try:
        from .stats.signatures import init_signatures

        rep = init_signatures(x_nd, record.role, record.fan_in, record.fan_out, tuple(record.shape),
                              groups=record.groups, seed=0, sample_max=SUBSAMPLE)
        best = next((m for m in rep.matches if m.kind != "constant" and math.isfinite(m.distance)), None)
        if best is not None:
            return {"best": str(best.name), "ks_d": float(best.distance), "scale_ratio": float(best.scale_ratio),
                    "kind": best.kind}
    except Exception:  # noqa: BLE001
        pass
    best = None
    for name, fam, s in _candidates(record.role, record.fan_in, record.fan_out):
        if fam == "u":
            d, exp = _ks_d(xs, _unif_cdf(-s, s)), s / math.sqrt(3)
        elif fam == "n":
            d, exp = _ks_d(xs, _norm_cdf(0.0, s)), s
        else:
            d, exp = _ks_d(xs, _tnorm_cdf(s, -2.0, 2.0)), s
        if best is None or d < best["ks_d"]:
            best = {"best": name, "ks_d": d, "scale_ratio": std / exp if exp > 0 else float("nan"),
                    "family": fam, "scale": s}
    return best or {"best": None, "ks_d": 1.0, "scale_ratio": float("nan")}


def _free_fit(xs_sorted: np.ndarray) -> dict:
    """Scale-free shape fits: KS D against N(mean, std) and U(min, max) fitted to the data itself;
    an init of any scale matches one of them to ~1/sqrt(n)."""
    mu, sd = float(xs_sorted.mean()), float(xs_sorted.std())
    out = {"normal_ks_d": 1.0, "uniform_ks_d": 1.0}
    if sd > 0:
        out["normal_ks_d"] = _ks_d(xs_sorted, _norm_cdf(mu, sd))
        lo, hi = float(xs_sorted[0]), float(xs_sorted[-1])
        out["uniform_ks_d"] = _ks_d(xs_sorted, _unif_cdf(lo, hi))
    out["best"] = "normal" if out["normal_ks_d"] <= out["uniform_ks_d"] else "uniform"
    return out


def _fit_report(x: np.ndarray) -> dict | None:
    """Best family by BIC (paramstat.stats.fits) on a small subsample — reported, not scored."""
    try:
        from .stats.fits import fit_families

        rep = fit_families(_subsample(x, 20_000), seed=0, subsample=20_000)
        return {"best": rep.best, "fits": [{"family": f.family, "bic": float(f.bic), "ks_d": float(f.ks_d)}
                                           for f in rep.fits]}
    except Exception:  # noqa: BLE001
        return None


# ------------------------------------------------------------------------------------------- features

def role_group(record) -> str:
    if not record.analysable:
        return "skipped"
    if record.role == "running_stat":
        return "running_stat"
    if record.role in NORM_ROLES:
        return "norm"
    dims = [int(s) for s in record.shape if int(s) > 1]
    if len(dims) >= 2 and record.role in MATRIX_ROLES:
        return "matrix"
    return "vector"


def as_matrix(x_nd: np.ndarray) -> np.ndarray:
    """(out, in/groups * kh * kw) for convs, squeezed 2-D otherwise."""
    sq = x_nd.reshape([s for s in x_nd.shape if s > 1] or [1])
    if sq.ndim == 1:
        return sq.reshape(1, -1)
    return sq.reshape(sq.shape[0], -1)


def tensor_features(record, raw: np.ndarray, *, with_fits: bool = False) -> Features:
    """Features of one tensor (see the module docstring). ``raw`` as stored (bf16 as uint16 bits)."""
    group = role_group(record)
    if group == "skipped":
        return Features(group, notes={"n": int(record.numel)})
    x_nd = np.asarray(as_float(raw, record.dtype)).reshape(record.shape)
    x_all = x_nd.reshape(-1)
    finite = np.isfinite(x_all)
    n_nonfinite = int(x_all.size - finite.sum())
    x = x_all if n_nonfinite == 0 else x_all[finite]
    x = x.astype(np.float32, copy=False) if x.dtype != np.float64 else x
    n = int(x.size)
    stats: dict = {"nonfinite": n_nonfinite}
    notes: dict = {"n": n}
    if n == 0:  # every value NaN/Inf: nothing to measure
        notes["all_nonfinite"] = True
        return Features(group, stats=stats, notes=notes)
    lo, hi = float(x.min()), float(x.max())
    if lo == hi:
        notes["constant"] = lo
        stats["moments"] = {"mean": lo, "std": 0.0, "min": lo, "max": hi}
        return Features(group, {}, stats, notes)
    probe = np.unique(x[:: max(1, n // 4096)])
    if probe.size <= 2 and bool(np.all((x == probe[0]) | (x == probe[-1]))):
        notes["two_values"] = (float(probe[0]), float(probe[-1]))  # a mask or a binarised tensor
        stats["moments"] = {"mean": float(x.mean()), "min": lo, "max": hi}
        return Features(group, {}, stats, notes)
    if group == "running_stat":
        stats["moments"] = _moments(x)
        return Features(group, {}, stats, notes)

    xs = np.sort(_subsample(x).astype(np.float64))
    n_ks = xs.size
    # shape statistics on the subsample; mean/std/min/max on all values
    mom = _moments(xs)
    x64 = x.astype(np.float64) if x.size > SUBSAMPLE else xs
    mom.update(mean=float(x64.mean()), std=float(x64.std()), min=lo, max=hi, n=n, n_moments=int(n_ks))
    stats["moments"] = mom
    med = float(xs[n_ks // 2]) if n_ks % 2 else float(0.5 * (xs[n_ks // 2 - 1] + xs[n_ks // 2]))
    runs = _value_runs(x, med)
    stats["runs"] = runs
    v: dict = {}
    sig = _signature(x_nd if n_nonfinite == 0 else x, record, xs)
    stats["signature"] = sig
    free = _free_fit(xs)
    stats["free_fit"] = free
    v["sig_ks_stat"] = _safe_log10(sig["ks_d"] * math.sqrt(n_ks))
    sr = sig.get("scale_ratio", float("nan"))
    v["sig_scale_logratio"] = min(abs(math.log(sr)), 5.0) if sr and math.isfinite(sr) and sr > 0 else 5.0
    v["free_ks_stat"] = _safe_log10(min(free["normal_ks_d"], free["uniform_ks_d"]) * math.sqrt(n_ks))
    rk = mom.get("robust_kurt", float("nan"))
    v["robust_kurt"] = float(np.clip(rk, -2.0, 10.0)) if math.isfinite(rk) else 0.0
    k = mom.get("kurt", float("nan"))
    v["kurt"] = float(np.clip(k, -2.0, 20.0)) if math.isfinite(k) else 0.0
    z = runs["z"] if math.isfinite(runs["z"]) else 0.0
    v["runs_z"] = float(np.clip(z, -30.0, 30.0))
    v["runs_r"] = float(z / math.sqrt(n))
    std = mom.get("std", 0.0) or 0.0
    v["mean_over_std"] = float(min(abs(mom.get("mean", 0.0)) / std, 5.0)) if std > 0 else 0.0

    # low-bit frequency bias (fp32 only: other dtypes have too few fraction bits, or a history)
    summary, freq, low_const = _bits(raw, record.dtype)
    stats["bits"] = summary or None
    stats["low_bits_constant"] = low_const
    if record.dtype in ("float32", "float64") and low_const == 0 and len(freq) >= 2:
        v["bit0_dev"], v["bit1_dev"] = float(freq[0] - 0.5), float(freq[1] - 0.5)
    else:
        v["bit0_dev"], v["bit1_dev"] = 0.0, 0.0
    notes["bit0_freq"] = float(freq[0]) if len(freq) else float("nan")
    notes["bit1_freq"] = float(freq[1]) if len(freq) > 1 else float("nan")

    if group == "matrix":
        v["axis_runs_z"] = float(np.clip(_axis_runs_z(x_nd, med) if n_nonfinite == 0 else 0.0, -30.0, 30.0))
        spec = _spectral(as_matrix(x_nd).astype(np.float32)) if n_nonfinite == 0 else None
        stats["spectral"] = spec
        if spec is not None:
            v["spike_frac"] = spec["n_spikes"] / max(spec["rank"], 1)
            v["top_over_edge_log"] = float(np.clip(math.log(max(spec["top_over_edge"], 1e-6)), -3.0, 5.0))
            v["shuffle_distance"] = float(min(spec["shuffle_distance"], 2.0))
        else:
            v["spike_frac"], v["top_over_edge_log"], v["shuffle_distance"] = 0.0, 0.0, 0.0
    else:
        stats["spectral"] = None
        bound = 1 / math.sqrt(record.fan_in) if record.fan_in else None
        # a value beyond the default uniform bound proves a U(±1/sqrt(fan_in)) bias moved
        v["beyond_bound"] = float(max(abs(lo), abs(hi)) / bound - 1.0) if bound else 0.0
        v["beyond_bound"] = float(np.clip(v["beyond_bound"], -1.0, 5.0))
    if with_fits:
        stats["fit"] = _fit_report(x)
    else:
        stats["fit"] = None
    return Features(group, v, stats, notes)
