"""LSUV: layer-sequential unit-variance init (Mishkin & Matas 2015, seed 002).

1. Orthonormal pre-init of every covered weight (``nn.init.orthogonal_``, conv as out x in*k*k), biases 0.
2. In forward order, for each covered layer: run the batch, take the variance of the layer's output
   B over all its elements, scale the weight by 1/sqrt(Var(B)); repeat until |Var(B) - 1| <= tol or
   ``max_iter`` scalings. The batch must hold >= 16 samples (the paper's minimum).

Covered: Conv1d/2d/3d (also transposed), Linear, and attention projections. nn.MultiheadAttention
applies in_proj and out_proj functionally (its out_proj Linear is never called, so a hook on it never
fires): q, k, v are measured by recomputing ``F.linear(query, W_q, b_q)`` etc. from the inputs a
pre-hook on the MHA module sees, and out_proj's output *is* the MHA's output, taken by a forward hook
on the MHA module. Fused q/k/v Linears (timm 'attn.qkv') are scaled per q/k/v block.

Mode: BatchNorm layers run in train mode (batch statistics, as at the first training step) and their
running statistics are restored afterwards; every other module runs in eval mode (no dropout /
drop-path noise). The model's original modes are restored.

Zero-initialised weights (e.g. a head that the architecture sets to 0 on purpose) are kept zero and
listed as 'kept zero' (the PyPI ``lsuv`` package overwrites them) unless ``keep_zero=False``.

Per layer, one forward runs up to the layer (stopped by an exception raised in a pre-hook) and captures
its input; tuning the layer never changes that input, so each iteration re-evaluates only the layer
itself on it (the variance is the one the full network would give on the batch; tests check this
against an independent full forward).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from .layers import Slot, weight_slots

MIN_BATCH = 16


class _Stop(Exception):
    pass


@dataclass
class LSUVLayer:
    name: str
    role: str
    module_type: str
    var_initial: float | None = None
    var_final: float | None = None
    iters: int = 0
    scale: float = 1.0          # product of the factors applied to the weight
    status: str = "pending"     # 'ok', 'not converged', 'not called', 'kept zero', 'zero output'


@dataclass
class LSUVReport:
    tol: float
    max_iter: int
    batch: int
    seconds: float = 0.0
    forwards: int = 0
    layers: list[LSUVLayer] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def covered(self) -> list[LSUVLayer]:
        return [r for r in self.layers if r.var_final is not None]

    @property
    def max_abs_dev(self) -> float:
        return max((abs(r.var_final - 1.0) for r in self.covered), default=float("nan"))

    def as_dict(self) -> dict:
        from dataclasses import asdict

        return asdict(self) | {"max_abs_dev": self.max_abs_dev}


@dataclass
class _Unit:
    slot: Slot
    module: nn.Module
    kind: str                   # 'out' (module output), 'mha_in' (q/k/v recomputed), 'mha_out'
    chunk: int = 0              # q/k/v index for fused weights
    order: int = -1


def units_of(model: nn.Module) -> tuple[list[_Unit], dict[str, nn.Module]]:
    slots, _ = weight_slots(model, split_qkv=True)
    mods = dict(model.named_modules())
    units = []
    for s in slots:
        if s.role in ("embedding", "positional"):
            continue
        mname = s.name.split("[")[0].rsplit(".", 1)[0] if "." in s.name else ""
        m = mods[mname]
        if isinstance(m, nn.MultiheadAttention):
            units.append(_Unit(s, m, "mha_in", "qkv".index(s.role[-1])))
        elif isinstance(m, nn.Linear) and mname.endswith("out_proj") and \
                isinstance(mods.get(mname.rsplit(".", 1)[0] if "." in mname else ""), nn.MultiheadAttention):
            units.append(_Unit(s, mods[mname.rsplit(".", 1)[0] if "." in mname else ""], "mha_out"))
        else:
            units.append(_Unit(s, m, "out", "qkv".index(s.role[-1]) if s.rows is not None else 0))
    return units, mods


def _mha_inputs(m: nn.MultiheadAttention, args, kwargs):
    names = ("query", "key", "value")
    vals = list(args[:3]) + [kwargs.get(n) for n in names[len(args[:3]):]]
    return vals


def _mha_chunk_out(m: nn.MultiheadAttention, inp: torch.Tensor, i: int) -> torch.Tensor:
    e = m.embed_dim
    if m.in_proj_weight is not None:
        w = m.in_proj_weight[i * e:(i + 1) * e]
    else:
        w = (m.q_proj_weight, m.k_proj_weight, m.v_proj_weight)[i]
    b = m.in_proj_bias[i * e:(i + 1) * e] if m.in_proj_bias is not None else None
    return F.linear(inp, w, b)


def _output_of(u: _Unit, out) -> torch.Tensor:
    if isinstance(out, (tuple, list)):
        out = out[0]
    if u.slot.rows is not None and u.kind == "out":   # fused qkv Linear: this block's columns
        e = u.slot.rows.stop - u.slot.rows.start
        out = out[..., u.chunk * e:(u.chunk + 1) * e]
    return out


def forward_order(model, units, data) -> int:
    """Run once with hooks on every unit's module; order units by when their output is ready."""
    counter = [0]
    first: dict[int, int] = {}
    hooks = []

    def mark(key):
        if key not in first:
            first[key] = counter[0]
            counter[0] += 1

    for m in {id(u.module): u.module for u in units}.values():
        if isinstance(m, nn.MultiheadAttention):
            hooks.append(m.register_forward_pre_hook(lambda mod, a, k=("pre", id(m)): mark(k)))
        hooks.append(m.register_forward_hook(lambda mod, a, o, k=("post", id(m)): mark(k)))
    try:
        with torch.no_grad():
            model(data)
    finally:
        for h in hooks:
            h.remove()
    for u in units:
        key = ("pre" if u.kind == "mha_in" else "post", id(u.module))
        u.order = first.get(key, -1) * 4 + u.chunk + (3 if u.kind == "mha_out" else 0)
    return 1


def capture_input(model, u: _Unit, data) -> tuple | None:
    """The (args, kwargs) u's module is called with on the batch: one forward, stopped right there.
    Tuning u never changes its own input (only upstream layers do), so it is captured once per layer."""
    got: dict = {}

    def pre(mod, args, kwargs):
        got["in"] = (args, kwargs)
        raise _Stop
    h = u.module.register_forward_pre_hook(pre, with_kwargs=True)
    try:
        with torch.no_grad():
            model(data)
    except _Stop:
        pass
    finally:
        h.remove()
    return got.get("in")


def output_var(u: _Unit, captured: tuple) -> float:
    """Var (float64, all elements) of u's output, recomputed from its captured input."""
    args, kwargs = captured
    with torch.no_grad():
        if u.kind == "mha_in":
            x = _mha_inputs(u.module, args, kwargs)[u.chunk]
            y = _mha_chunk_out(u.module, x, u.chunk)
        else:
            y = _output_of(u, u.module(*args, **kwargs))
    return float(y.detach().double().var())


def rescale_to_variance(u: _Unit, captured: tuple, var: float, target: float, tol: float, max_iter: int,
                        relative: bool = False, floor: float = 1e-20) -> tuple[float, float, int]:
    """LSUV's step (Mishkin & Matas 2015, Alg. 1): W <- W sqrt(target / Var) until |Var - target| <= tol
    (``relative``: |Var / target - 1| <= tol), at most ``max_iter`` times, stopping when Var <= ``floor``.
    ``var``: the output variance now. Returns (final Var, total scale, iterations); u's tensor is scaled in place."""
    scale, iters = 1.0, 0
    while (abs(var / target - 1) if relative else abs(var - target)) > tol and iters < max_iter and var > floor:
        s = (target / var) ** 0.5
        with torch.no_grad():
            u.slot.tensor.mul_(s)
        scale *= s
        iters += 1
        var = output_var(u, captured)
    return var, scale, iters


def _set_modes(model: nn.Module) -> dict:
    saved = {"modes": {n: m.training for n, m in model.named_modules()}, "bn": {}}
    for n, m in model.named_modules():
        is_bn = isinstance(m, nn.modules.batchnorm._BatchNorm)
        m.training = is_bn
        if is_bn:
            saved["bn"][n] = {k: v.clone() for k, v in m.named_buffers(recurse=False) if v is not None}
    return saved


def _restore_modes(model: nn.Module, saved: dict) -> None:
    for n, m in model.named_modules():
        m.training = saved["modes"].get(n, m.training)
        for k, v in saved["bn"].get(n, {}).items():
            getattr(m, k).copy_(v)


def lsuv_(module: nn.Module, data: torch.Tensor, tol: float = 0.1, max_iter: int = 10, *,
          seed: int = 0, orthonormal: bool = True, keep_zero: bool = True, target: float = 1.0,
          ) -> LSUVReport:
    """LSUV in place (Mishkin & Matas 2015, Alg. 1): returns each covered layer's final output variance."""
    from ..errors import ParamstatError

    if not torch.is_tensor(data):
        raise ParamstatError("LSUV needs a data batch (a tensor)", hint="pass data=<batch of >= 16 inputs>")
    if data.shape[0] < MIN_BATCH:
        raise ParamstatError(f"LSUV batch has {data.shape[0]} samples; it needs >= {MIN_BATCH}",
                             hint="Mishkin & Matas: smaller batches give unstable variance estimates")
    t0 = time.perf_counter()
    rep = LSUVReport(tol=tol, max_iter=max_iter, batch=int(data.shape[0]))
    rep.notes += ["BatchNorm in train mode (batch statistics), running stats restored; other modules eval",
                  "variance over all elements of the layer's output on the batch"]
    g = torch.Generator().manual_seed(seed)
    units, _ = units_of(module)
    saved = _set_modes(module)
    fast = None
    if hasattr(torch.backends, "mha"):
        fast = torch.backends.mha.get_fastpath_enabled()
        torch.backends.mha.set_fastpath_enabled(False)
    try:
        zero = {id(u): bool((u.slot.tensor == 0).all()) for u in units}
        if orthonormal:
            with torch.no_grad():
                for u in units:
                    if keep_zero and zero[id(u)]:
                        continue
                    _ortho_nd(u.slot.tensor, g)
            _zero_biases(module, units)
        rep.forwards += forward_order(module, units, data)
        units.sort(key=lambda u: (u.order < 0, u.order))
        for u in units:
            row = LSUVLayer(u.slot.name, u.slot.role, u.slot.module_type)
            rep.layers.append(row)
            if keep_zero and zero[id(u)]:
                row.status = "kept zero"
                continue
            captured = capture_input(module, u, data)
            rep.forwards += 1
            if captured is None:
                row.status = "not called"
                continue
            row.var_initial = output_var(u, captured)
            row.var_final, row.scale, row.iters = rescale_to_variance(u, captured, row.var_initial, target, tol,
                                                                      max_iter)
            var = row.var_final
            row.status = "ok" if abs(var - target) <= tol else ("zero output" if not var > 1e-20
                                                                 else "not converged")
    finally:
        if fast is not None:
            torch.backends.mha.set_fastpath_enabled(fast)
        _restore_modes(module, saved)
    rep.seconds = time.perf_counter() - t0
    return rep


def _ortho_nd(t: torch.Tensor, g: torch.Generator) -> None:
    flat = torch.empty(t.shape[0], t[0].numel(), dtype=t.dtype)
    nn.init.orthogonal_(flat, generator=g)
    t.copy_(flat.reshape(t.shape))


def _zero_biases(module: nn.Module, units: list[_Unit]) -> None:
    with torch.no_grad():
        for u in units:
            m = u.module
            if u.kind in ("mha_in", "mha_out"):
                for b in (m.in_proj_bias, getattr(m.out_proj, "bias", None)):
                    if b is not None:
                        b.zero_()
            elif getattr(m, "bias", None) is not None and isinstance(m.bias, torch.Tensor):
                m.bias.zero_()
