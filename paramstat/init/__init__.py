"""Inits: classic schemes, LSUV, and architecture-native sampling from a fitted profile.

    apply_init(module, scheme, *, seed=0, data=None, profile=None, **kw) -> dict   (in place)
    lsuv_(module, data, tol=0.1, max_iter=10, ...) -> LSUVReport
    native_(module, profile, seed=0, ...) -> NativeReport
    fit_profile(sources, ...) -> dict                                               (profile JSON)

Heavy imports (torch) happen inside the functions' modules; importing this package is cheap.
"""
from __future__ import annotations

from typing import Any

__all__ = ["apply_init", "lsuv_", "native_", "fit_profile", "SCHEMES"]

SCHEMES = (
    "default", "xavier_normal", "xavier_uniform", "kaiming_normal", "kaiming_uniform",
    "kaiming_normal_fan_out", "lecun_normal", "orthogonal", "trunc_normal", "he_trunc", "he_2x",
    "fan_in_1", "lsuv", "native",
)


def apply_init(module, scheme: str, *, seed: int = 0, data=None, profile=None, keep_constants: bool = True,
               **kw) -> dict[str, Any]:
    """Re-initialise ``module`` in place with ``scheme``; return a per-parameter report.

    Classic schemes (see paramstat.init.classic) fill the weights of conv, linear and attention
    projections (fused q/k/v blocks each on their own); **biases are set to 0**, norm layers to
    weight 1 / bias 0; embeddings, positional embeddings and other parameters keep the module's own
    init (listed as 'kept'). 'default' changes nothing (the module's own init from construction;
    pass reset=True to call each submodule's reset_parameters()). 'lsuv' needs ``data`` (a batch of
    >= 16 inputs; kw: tol, max_iter, keep_zero) and 'native' needs ``profile`` (path or dict; kw: see
    native_). Deterministic for a seed (a private torch.Generator; global RNG untouched, except
    reset_parameters for 'default').

    ``keep_constants`` (default): every tensor the module's current (own) init leaves constant -- timm's
    zero_init_last BatchNorm gammas, zero heads, layer-scale gammas, norm weights 1 / biases 0 -- stays as
    it is in every scheme (see paramstat.init.keep); listed under "kept_constant".

    Returns {"scheme", "seed", "params": {name: {"role", "action", "shape", "std"}}, ...} and for
    lsuv/native the scheme's own report under "lsuv" / "native".
    """
    import copy

    import torch

    from . import classic
    from .keep import constant_names
    from .layers import weight_slots

    scheme = classic.canonical(scheme)
    out: dict[str, Any] = {"scheme": scheme, "seed": seed, "params": {}, "kept_constant": []}
    keep = constant_names(module) if keep_constants and scheme != "default" else set()
    out["kept_constant"] = sorted(n for n in keep if "[" not in n)
    if scheme == "default":
        if kw.get("reset"):
            torch.manual_seed(seed)
            for m in module.modules():
                if hasattr(m, "reset_parameters"):
                    m.reset_parameters()
        _describe(module, out, action="default")
        return out
    if scheme == "native":
        if profile is None:
            from ..errors import ParamstatError

            raise ParamstatError("scheme 'native' needs a profile", hint="pass profile=<profile.json or dict>")
        from .native import native_

        lsuv_kw = {k: kw.pop(k) for k in ("tol", "max_iter") if k in kw}
        if kw.get("scale") == "data" and data is None:
            from ..errors import ParamstatError

            raise ParamstatError("native scale 'data' needs a data batch", hint="pass data=<batch of >= 16 inputs>")
        calib_batch = kw.pop("calibration_batch", None)
        ref = copy.deepcopy(module) if kw.get("scale", "auto") != "profile" else None
        rep = native_(module, profile, seed=seed, keep=keep, **kw)
        out["native"] = rep.as_dict()
        tune = {r.name: r for r in rep.rows if r.scale_source in ("own", "fan") and r.role not in ("bias",)
                and rep.scale_mode != "data"}
        if ref is not None and tune:
            _reference_fan_layers(ref, tune, seed)
            from .calibrate import match_variances_

            xb = calib_batch if calib_batch is not None else (data if data is not None else _calibration_batch(module))
            if xb is None:
                out["native"]["calibration"] = "none (no input batch known for this module: pass data=)"
            else:
                try:
                    mrep = match_variances_(module, ref, xb, names=set(tune))
                except Exception as err:  # noqa: BLE001 - a model that cannot run this batch: say so
                    out["native"]["calibration"] = f"failed ({type(err).__name__}: {err})"
                else:
                    out["native"]["calibration"] = mrep.as_dict()
                    scales = {x.name: x.scale for x in mrep.rows}
                    for r in out["native"]["rows"]:
                        f = scales.get(r["name"], 1.0)
                        if f != 1.0:
                            r["scale"] *= f
                            r["loc"] *= f
                            r["scale_source"] += ", matched"
            del ref
        if rep.scale_mode == "data":
            from .lsuv import lsuv_

            lrep = lsuv_(module, data, seed=seed, orthonormal=False, **lsuv_kw)
            out["lsuv"] = lrep.as_dict()
        _describe(module, out, action="native", keep=keep)
        return out
    if scheme == "lsuv":
        from .lsuv import lsuv_

        rep = lsuv_(module, data, seed=seed, **kw)
        out["lsuv"] = rep.as_dict()
        _describe(module, out, action="lsuv", keep=keep)
        return out
    g = torch.Generator().manual_seed(seed)
    slots, others = weight_slots(module)
    for s in slots:
        if s.role in ("embedding", "positional") or s.name in keep:
            continue
        classic.init_tensor(s.tensor, scheme, g)
    with torch.no_grad():
        for name, p, role in others:
            if name in keep:
                continue
            if role in ("bias", "norm_bias", "bn_bias"):
                p.zero_()
            elif role in ("norm_weight", "bn_weight"):
                p.fill_(1.0)
    _describe(module, out, action=scheme, keep=keep)
    return out


def _reference_fan_layers(ref, rows: dict, seed: int) -> None:
    """In the reference copy, the layers native scaled by the fan law get i.i.d. N(0, fan std^2) (He /
    LeCun, what that law assumes); layers at their own scale keep the module's own init."""
    import torch

    from .layers import all_slots

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for s in all_slots(ref):
            r = rows.get(s.name)
            if r is not None and r.scale_source == "fan":
                s.write(torch.randn(s.shape, generator=g, dtype=torch.float64) * r.scale)


def _calibration_batch(module):
    """4 N(0, 1) inputs (own seed stream) of a timm model's input shape at 64 px (its own size for ViTs and
    fixed-resolution models); None for modules without a timm config."""
    cfg = getattr(module, "pretrained_cfg", None) or getattr(module, "default_cfg", None)
    if not cfg:
        return None
    import torch

    from .generate import example_input

    for size in (64, None):
        x = example_input(module, "timm", batch=4, size=size)
        try:
            was = module.training
            module.eval()
            with torch.no_grad():
                module(x)
            module.train(was)
            return x
        except Exception:  # noqa: BLE001 - e.g. LeViT's fixed attention-bias grid: its own size
            module.train(was)
    return None


def _describe(module, out: dict, action: str, keep: set[str] = frozenset()) -> None:
    from .layers import weight_slots

    slots, others = weight_slots(module)
    for s in slots:
        t = s.tensor
        act = "kept" if s.role in ("embedding", "positional") and action not in ("native",) else action
        if s.name in keep:
            act = "kept constant"
        out["params"][s.name] = {"role": s.role, "action": act, "shape": list(t.shape),
                                 "fan_in": s.fan_in, "fan_out": s.fan_out, "std": float(t.float().std())
                                 if t.numel() > 1 else 0.0}
    for name, p, role in others:
        if name in keep:
            act = "kept constant"
        elif action in ("default", "native"):
            act = action
        elif action == "lsuv":
            act = "zeros" if role == "bias" else "kept"
        else:
            act = {"bias": "zeros", "norm_bias": "zeros", "bn_bias": "zeros", "norm_weight": "ones",
                   "bn_weight": "ones"}.get(role, "kept")
        out["params"][name] = {"role": role, "action": act, "shape": list(p.shape),
                               "std": float(p.detach().float().std()) if p.numel() > 1 else 0.0}


def lsuv_(module, data, tol: float = 0.1, max_iter: int = 10, **kw):
    """See paramstat.init.lsuv.lsuv_."""
    from .lsuv import lsuv_ as _l

    return _l(module, data, tol=tol, max_iter=max_iter, **kw)


def native_(module, profile, seed: int = 0, **kw):
    """See paramstat.init.native.native_."""
    from .native import native_ as _n

    return _n(module, profile, seed=seed, **kw)


def fit_profile(sources, **kw):
    """See paramstat.init.profile.fit_profile."""
    from .profile import fit_profile as _f

    return _f(sources, **kw)
