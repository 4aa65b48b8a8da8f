"""Match a re-initialised module's per-layer output variances to a reference module (its own init).

Trained k x k filters are correlated across taps (Trockman et al. 2023), so on the smooth signals deep
inside a convnet a filter drawn with the trained covariance has a larger gain than an i.i.d. filter of the
same std: 1'S1 instead of trace S. With BatchNorm in eval mode (running stats 0 / 1 as built) nothing
normalises that gain, and it compounds over depth (the 1e13 eval-mode outputs of the old native init).
`match_variances_` removes it: in forward order, every covered layer of ``model`` is scaled so that the
variance of its output on ``data`` equals that of the same layer of ``reference`` on ``data`` (every module in
eval mode), iterated like LSUV (Mishkin & Matas 2015) until |Var / Var_ref - 1| <= tol. The shape (family,
tails, covariance) is untouched; only one scalar per tensor changes.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class MatchRow:
    name: str
    var_ref: float | None = None
    var_initial: float | None = None
    var_final: float | None = None
    scale: float = 1.0
    iters: int = 0
    status: str = "pending"      # ok / not converged / not called / zero output / skipped


@dataclass
class MatchReport:
    batch: int
    tol: float
    rows: list[MatchRow] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def match_variances_(model, reference, data, names: set[str] | None = None, tol: float = 0.05,
                     max_iter: int = 6) -> MatchReport:
    """In place on ``model`` (see module doc); ``names``: slot names to tune (default: all covered)."""

    from .lsuv import capture_input, forward_order, output_var, rescale_to_variance, units_of

    rep = MatchReport(batch=int(data.shape[0]), tol=tol)
    modes = [(m, m.training) for m in list(model.modules()) + list(reference.modules())]
    for m, _ in modes:
        m.training = False
    try:
        units, _ = units_of(model)
        ref_units = {u.slot.name: u for u in units_of(reference)[0]}
        forward_order(model, units, data)
        units.sort(key=lambda u: (u.order < 0, u.order))
        for u in units:
            if names is not None and u.slot.name not in names:
                continue
            row = MatchRow(u.slot.name)
            rep.rows.append(row)
            ru = ref_units.get(u.slot.name)
            cap = capture_input(model, u, data)
            rcap = capture_input(reference, ru, data) if ru is not None else None
            if cap is None or rcap is None:
                row.status = "not called"
                continue
            target = row.var_ref = output_var(ru, rcap)
            var = row.var_initial = output_var(u, cap)
            if not (target > 1e-30 and var > 1e-30):
                row.status = "zero output"
                continue
            var, row.scale, row.iters = rescale_to_variance(u, cap, var, target, tol, max_iter, relative=True,
                                                            floor=0.0)
            row.var_final = var
            row.status = "ok" if abs(var / target - 1) <= tol else "not converged"
    finally:
        for m, t in modes:
            m.training = t
    return rep
