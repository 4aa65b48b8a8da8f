"""Table 3 of the seed paper, per layer type: # layers, max |runs Z| per fraction group, and the mean
|runs Z| over every (tensor, non-constant fraction bit):

    mean |Z| = sum_g mean_abs_z_g * (bits_g - n_constant_g) / sum_g (bits_g - n_constant_g)

summed over the tensors of the type and their (at most three) fraction groups g of the dtype's layout
(``dtypes.LAYOUTS[dtype].fraction_groups``); max |Z| per group = max over tensors of the group's
max |runs Z| (``BitTests.summary()``). This is the definition ``scan --json`` reports.
The vocabulary (verdict names, the order of layer types) is the caller's: ``verdict.layer_types``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..dtypes import LAYOUTS

DEFAULT_LABELS = ["frac 0-7", "frac 8-15", "frac 16-22"]


@dataclass
class LayerTypeRow:
    """One row of the seed's Table 3, extended with verdict counts."""
    layer_type: str
    n_layers: int                      # analysed (not skipped) tensors of this type
    group_labels: list[str]            # e.g. ['frac 0-7', 'frac 8-15', 'frac 16-22']
    group_max_z: list[float | None]    # max over tensors of max |runs Z| in each fraction group
    mean_abs_z: float | None           # mean |runs Z| over every non-constant fraction bit of every tensor
    counts: dict[str, int]             # verdict -> number of tensors

    def to_dict(self) -> dict:
        return {"layer_type": self.layer_type, "n_layers": self.n_layers,
                "max_abs_z": dict(zip(self.group_labels, self.group_max_z)),
                "mean_abs_z": self.mean_abs_z, "counts": self.counts}


def fraction_groups(bits: dict, dtype: str) -> list[tuple[str, dict | None, int]]:
    """[(label, summary-entry, n_bits)] for the seed's three fraction groups of ``dtype``."""
    lay = LAYOUTS.get(dtype)
    if lay is None:
        return []
    return [(f"frac {a}-{b}", bits.get(f"frac_{a}_{b}"), b - a + 1) for a, b in lay.fraction_groups]


def _num(x) -> float | None:
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else x


def aggregate_layer_types(entries, verdicts: tuple[str, ...], order: tuple[str, ...] = (),
                          skipped: str = "skipped") -> list[LayerTypeRow]:
    """Table 3 from ``(layer_type, verdict, dtype, bits_summary | None)`` per tensor (module doc).

    ``verdicts``: the verdict names, in the order the counts are listed; ``order``: layer types listed
    first, in this order (others follow in order of appearance); tensors with verdict ``skipped`` are
    counted but not analysed."""
    acc: dict[str, dict] = {}
    first: dict[str, int] = {}
    for i, (lt, verdict, dtype, bits) in enumerate(entries):
        a = acc.setdefault(lt, {"n": 0, "labels": None, "max": [None, None, None], "zsum": 0.0, "nbits": 0,
                                "counts": {v: 0 for v in verdicts}})
        first.setdefault(lt, i)
        a["counts"][verdict] = a["counts"].get(verdict, 0) + 1
        if verdict == skipped:
            continue
        a["n"] += 1
        if not bits:
            continue
        groups = fraction_groups(bits, dtype)
        if a["labels"] is None:
            a["labels"] = [g[0] for g in groups]
        for j, (_, g, nb) in enumerate(groups[:3]):
            if not g:
                continue
            mz = _num(g.get("max_abs_z"))
            if mz is not None:
                a["max"][j] = mz if a["max"][j] is None else max(a["max"][j], mz)
            k = nb - int(g.get("n_constant", 0) or 0)
            mean = _num(g.get("mean_abs_z"))
            if k > 0 and mean is not None:
                a["zsum"] += mean * k
                a["nbits"] += k
    rank = {name: i for i, name in enumerate(order)}
    keys = sorted(acc, key=lambda k: (rank.get(k, len(rank)), first[k]))
    rows = []
    for k in keys:
        a = acc[k]
        rows.append(LayerTypeRow(
            layer_type=k, n_layers=a["n"],
            group_labels=a["labels"] or list(DEFAULT_LABELS),
            group_max_z=a["max"], mean_abs_z=a["zsum"] / a["nbits"] if a["nbits"] else None,
            counts={v: c for v, c in a["counts"].items() if c}))
    return rows
