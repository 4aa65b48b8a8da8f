"""The forward part of `paramstat generate --check`: does a generated init keep the architecture's length
scale (output std, and M_j = ||act_j||^2/n_j per hidden layer, Hanin & Rolnick 2018) against the
architecture's own fresh init on the same batch; and what `paramstat scan` says of the generated weights."""
from __future__ import annotations

import re
from collections import Counter

from ..init.generate import build_model, example_input, forward_stds
from .probe import probe

STD_FACTOR = 10.0          # forward output std within this factor of the architecture's own fresh init
M_BAND = (1e-2, 1e2)       # hidden M_j / M_0 (FM1) ...
M_REL = 10.0               # ... or M_j within this factor of the own init's M_j at the same point
FORWARD_BOUNDS = (f"output std in eval and in train mode within {STD_FACTOR:g}x of the architecture's own fresh "
                  f"init on the same batch, or within {STD_FACTOR:g}x of the input's std (length scale kept); every hidden M_j = ||act_j||^2/n_j (train mode) with M_j/M_0 in "
                  f"[{M_BAND[0]:g}, {M_BAND[1]:g}] or within {M_REL:g}x of the own init's M_j")


def forward_check(model, spec: str, *, num_classes: int | None = None, img_size: int | None = None,
                  check_size: int | None = None, x=None) -> dict:
    """The forward part of ``generate --check`` (bounds: FORWARD_BOUNDS) against a freshly built
    ``spec`` (its own init, same constructor seed) on the same batch; M_j from lab.probe
    (Hanin & Rolnick 2018) on deep copies, so ``model``'s BatchNorm running stats stay untouched. ``x``: the
    batch (default: `example_input`, 8 N(0, 1) samples)."""
    import copy
    import math

    ref = build_model(spec, num_classes=num_classes, img_size=img_size)
    if x is None:
        x = example_input(ref, spec, batch=8, size=check_size)
    ev, tr = forward_stds(model, x)
    x_std = float(x.double().std())
    rev, rtr = forward_stds(ref, x)

    def ratio(a, b):
        return a / b if b > 0 and math.isfinite(a) else (1.0 if a == b else math.inf)

    r_ev, r_tr = ratio(ev, rev), ratio(tr, rtr)
    std_ok = all(1 / STD_FACTOR <= r <= STD_FACTOR or 1 / STD_FACTOR <= v / x_std <= STD_FACTOR
                 for r, v in ((r_ev, ev), (r_tr, tr)))
    pm, pr = probe(copy.deepcopy(model), x), probe(copy.deepcopy(ref), x)
    layers, bad = [], []
    for lp, lr in zip(pm.layers[:-1], pr.layers[:-1]):
        rel0 = lp.M / pm.M0 if pm.M0 > 0 else math.nan
        rel_own = ratio(lp.M, lr.M)
        ok = bool(M_BAND[0] <= rel0 <= M_BAND[1] or 1 / M_REL <= rel_own <= M_REL)
        layers.append({"index": lp.index, "name": lp.name, "M": lp.M, "M_own": lr.M, "M_over_M0": rel0,
                       "M_over_own": rel_own, "ok": ok})
        if not ok:
            bad.append(lp.name)
    return {"input": list(x.shape), "input_std": x_std, "output_std_eval": ev, "output_std_train": tr, "own_std_eval": rev,
            "own_std_train": rtr, "ratio_eval": r_ev, "ratio_train": r_tr, "std_ok": bool(std_ok),
            "M_layers": layers, "M_failed": bad, "M_ok": not bad, "bounds": FORWARD_BOUNDS,
            "passed": bool(std_ok and not bad)}


def scan_summary(model) -> dict:
    """Run paramstat.scan on the generated module: verdict, score, counts and the most frequent
    evidence lines (why); {'available': False, 'error': ...} when the scan fails."""
    from ..verdict import scan

    try:
        res = scan(model, progress=False)
    except Exception as err:  # noqa: BLE001
        return {"available": False, "error": f"scan failed ({type(err).__name__}: {err})"}
    by_role: dict[str, Counter] = {}
    why: dict[str, dict[str, list[str]]] = {}
    for t in res.tensors:
        by_role.setdefault(t.role, Counter())[t.verdict] += 1
        ev = getattr(t, "evidence", None) or []
        if ev and t.verdict in ("trained", "untrained"):
            text = ev[0].text
            why.setdefault(t.role, {}).setdefault(f"{t.verdict}: {_NUM.sub('#', text)}", []).append(
                f"{t.verdict}: {text}")
    return {"available": True, "verdict": res.verdict, "score": res.score, "counts": res.counts(),
            "by_role": {r: dict(c) for r, c in by_role.items()},
            "untrained": list(res.untrained)[:10],
            "why": {r: [f"{len(v)}x {merge_numbers(v)}" for v in sorted(g.values(), key=len, reverse=True)[:2]]
                    for r, g in why.items()}}


_NUM = re.compile(r"[-+]?\d[\d,]*\.?\d*(?:e[-+]?\d+)?")


def merge_numbers(texts: list[str]) -> str:
    """Evidence texts that differ only in their numbers (grouped on the text with numbers masked) as one
    line: each number as written when the group agrees on it, else its range 'min..max'."""
    slots = [_NUM.findall(t) for t in texts]
    parts = _NUM.split(texts[0])
    out = [parts[0]]
    for i, rest in enumerate(parts[1:]):
        vals = [s[i] for s in slots]
        if len(set(vals)) == 1:
            out.append(vals[0])
        else:
            nums = sorted(vals, key=lambda v: float(v.replace(",", "")))
            out.append(f"{nums[0]}..{nums[-1]}")
        out.append(rest)
    return "".join(out)
