"""The seed's Table 3 per layer type: the layer type of a tensor ('Conv weight', 'BN bias', ...) and the
per-type aggregation of the fraction-bit runs Z with verdict counts. Pure functions on records and
bit summaries."""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..dtypes import LAYOUTS
from ..record import TensorRecord

VERDICTS = ("trained", "untrained", "undetermined", "skipped")


def _norm_kind(rec: TensorRecord, names: set[str]) -> str:
    mt = (rec.module_type or "").lower()
    if "batchnorm" in mt:
        return "BN"
    if "layernorm" in mt:
        return "LN"
    if "groupnorm" in mt:
        return "GN"
    if "rmsnorm" in mt:
        return "RMSNorm"
    prefix = rec.name.rpartition(".")[0]
    if _sib(prefix, "running_mean") in names or _sib(prefix, "running_var") in names:
        return "BN"
    last = prefix.rpartition(".")[2].lower()
    if last.startswith(("ln", "layernorm", "layer_norm")):
        return "LN"
    if last.startswith(("bn", "batchnorm")):
        return "BN"
    return "Norm"


def _sib(prefix: str, leaf: str) -> str:
    return f"{prefix}.{leaf}" if prefix else leaf


_ROLE_TYPE = {"conv": "Conv weight", "dwconv": "DWConv weight", "linear": "FC weight",
              "attn_in_proj": "Attn in-proj weight", "embedding": "Embedding", "positional": "Positional"}


def layer_type(rec: TensorRecord, by_name: dict[str, TensorRecord]) -> str:
    """The seed's Table 3 'layer type' of a tensor: 'Conv weight', 'FC bias', 'BN weight', ..."""
    if rec.role in _ROLE_TYPE:
        return _ROLE_TYPE[rec.role]
    names = set(by_name)
    prefix, _, leaf = rec.name.rpartition(".")
    if rec.role == "norm_weight":
        if (rec.module_type or "").lower() == "prelu" or "prelu" in rec.name.lower():
            return "PReLU slope"   # a 1-D 'weight' like a norm scale, but an activation's (init 0.25)
        return f"{_norm_kind(rec, names)} weight"
    if rec.role == "norm_bias":
        return f"{_norm_kind(rec, names)} bias"
    if rec.role == "running_stat" or leaf == "num_batches_tracked":
        leaf = "batch count" if leaf == "num_batches_tracked" else leaf
        return f"{_norm_kind(rec, names)} {leaf}"
    if rec.role == "bias":
        parent = by_name.get(_sib(prefix, "weight"))
        if parent is not None and parent.role in _ROLE_TYPE:
            return _ROLE_TYPE[parent.role].removesuffix(" weight") + " bias"
        return "Bias"
    return "Other"


def layer_types(records) -> dict[str, str]:
    by_name = {r.name: r for r in records}
    return {r.name: layer_type(r, by_name) for r in records}


_ORDER = ("Conv weight", "Conv bias", "DWConv weight", "DWConv bias", "FC weight", "FC bias",
          "Attn in-proj weight", "Attn in-proj bias", "Embedding", "Positional",
          "BN weight", "BN bias", "LN weight", "LN bias", "GN weight", "GN bias", "Norm weight", "Norm bias",
          "PReLU slope")


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


def _groups(bits: dict, dtype: str) -> list[tuple[str, dict | None, int]]:
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


def aggregate_layer_types(entries) -> list[LayerTypeRow]:
    """The seed's Table 3 from ``(layer_type, verdict, dtype, bits_summary | None)`` per tensor.

    Per layer type: # layers (tensors not 'skipped'); per fraction group the max over tensors of the
    group's max |runs Z| (BitTests.summary()); mean |Z| weighting every (tensor, non-constant fraction bit)
    equally: sum_g mean_abs_z_g * (bits_g - n_constant_g) / sum_g (bits_g - n_constant_g); verdict counts.
    """
    acc: dict[str, dict] = {}
    first: dict[str, int] = {}
    for i, (lt, verdict, dtype, bits) in enumerate(entries):
        a = acc.setdefault(lt, {"n": 0, "labels": None, "max": [None, None, None], "zsum": 0.0, "nbits": 0,
                                "counts": {v: 0 for v in VERDICTS}})
        first.setdefault(lt, i)
        a["counts"][verdict] = a["counts"].get(verdict, 0) + 1
        if verdict == "skipped":
            continue
        a["n"] += 1
        if not bits:
            continue
        groups = _groups(bits, dtype)
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
    rank = {name: i for i, name in enumerate(_ORDER)}
    keys = sorted(acc, key=lambda k: (rank.get(k, len(rank)), first[k]))
    rows = []
    for k in keys:
        a = acc[k]
        rows.append(LayerTypeRow(
            layer_type=k, n_layers=a["n"],
            group_labels=a["labels"] or ["frac 0-7", "frac 8-15", "frac 16-22"],
            group_max_z=a["max"], mean_abs_z=a["zsum"] / a["nbits"] if a["nbits"] else None,
            counts={v: c for v, c in a["counts"].items() if c}))
    return rows
