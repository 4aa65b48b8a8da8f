"""The verdict stage's result types: :class:`Evidence`, :class:`TensorVerdict` (one tensor) and
:class:`ScanResult` (a checkpoint), with their ``--json`` layouts, and :func:`flatten_stats` (nested stats
-> flat ``a.b.c`` keys for the DataFrame and the ``--h5`` attributes)."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from ..record import Checkpoint
from .layer_types import VERDICTS, aggregate_layer_types


@dataclass
class Evidence:
    feature: str          # e.g. 'sig_ks_stat', 'robust_kurt', 'runs_z', 'spike_frac', 'bit0_dev'
    value: float
    contribution: float   # signed log-odds toward 'trained' (+) or 'untrained' (-)
    text: str             # a human sentence

    def to_dict(self) -> dict:
        return {"feature": self.feature, "value": _f(self.value), "contribution": _f(self.contribution),
                "text": self.text}


@dataclass
class TensorVerdict:
    name: str
    stored_name: str
    role: str
    shape: tuple
    dtype: str
    depth: int
    numel: int
    verdict: str          # 'trained' | 'untrained' | 'undetermined' | 'skipped'
    score: float | None   # P(trained); None when skipped
    evidence: list[Evidence] = field(default_factory=list)
    stats: dict = field(default_factory=dict)
    group: str = ""
    features: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"name": self.name, "stored_name": self.stored_name, "role": self.role,
                "shape": list(self.shape), "dtype": self.dtype, "depth": self.depth, "numel": self.numel,
                "verdict": self.verdict, "score": _f(self.score), "group": self.group,
                "evidence": [e.to_dict() for e in self.evidence],
                "features": {k: _f(v) for k, v in self.features.items()}, "stats": self.stats}


def _f(v):
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None



@dataclass
class ScanResult:
    source: str
    format: str
    verdict: str                  # 'trained' | 'untrained' | 'mixed' (checkpoint level)
    score: float                  # P(trained) of the checkpoint
    n_params: int
    tensors: list                 # list[TensorVerdict], in network (record) order
    untrained: list[str]          # never-trained tensors that decide a 'mixed' verdict
    provenance: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    timings: dict = field(default_factory=dict)   # seconds: load, read, analysis (+ analysis_cpu), total, report
    layer_types: dict = field(default_factory=dict)  # tensor name -> Table-3 layer type ('Conv weight', ...)
    bit_z: dict = field(default_factory=dict, repr=False)  # name -> per-bit runs Z (NaN = constant), for plots
    checkpoint: Checkpoint | None = field(default=None, repr=False, compare=False)  # for re-reading (plots)

    def counts(self) -> dict[str, int]:
        c = {v: 0 for v in VERDICTS}
        for t in self.tensors:
            c[t.verdict] = c.get(t.verdict, 0) + 1
        return c

    def to_dict(self) -> dict:
        """The --json layout (NaN/Inf become null in paramstat.report.jsonout)."""
        tensors = []
        for t in self.tensors:
            d = t.to_dict()
            d.setdefault("name", t.name)
            d["shape"] = list(d.get("shape", t.shape))
            d["layer_type"] = self.layer_types.get(t.name)
            tensors.append(d)
        return {
            "verdict": self.verdict, "score": self.score, "n_params": int(self.n_params),
            "source": self.source, "format": self.format, "counts": self.counts(),
            "untrained": list(self.untrained), "provenance": self.provenance, "warnings": list(self.warnings),
            "timings": self.timings, "layer_types": [r.to_dict() for r in self.layer_type_table()],
            "tensors": tensors,
        }

    def layer_type_table(self) -> list:
        """The seed's Table 3 of this scan (:func:`aggregate_layer_types` over every tensor)."""
        return aggregate_layer_types(
            (self.layer_types.get(t.name) or "Other", t.verdict, t.dtype,
             None if t.verdict == "skipped" else (t.stats or {}).get("bits")) for t in self.tensors)

    def to_dataframe(self):
        """pandas DataFrame, one row per tensor: identity, verdict, score, top evidence, flattened stats."""
        import pandas as pd

        rows = []
        for t in self.tensors:
            row = {"name": t.name, "stored_name": t.stored_name, "role": t.role,
                   "layer_type": self.layer_types.get(t.name), "shape": tuple(t.shape), "dtype": t.dtype,
                   "depth": t.depth, "numel": t.numel, "verdict": t.verdict, "score": t.score,
                   "top_evidence": t.evidence[0].text if t.evidence else None}
            for k, v in flatten_stats(t.stats or {}).items():
                if np.ndim(v) == 0:
                    row[f"stats.{k}"] = v
            rows.append(row)
        return pd.DataFrame(rows)


def flatten_stats(d: dict, prefix: str = "") -> dict:
    """Nested dict -> {'a.b.c': scalar | str | np.ndarray}; lists of numbers become arrays, None is dropped,
    lists of dicts are indexed ('fit.fits.0.bic')."""
    out: dict = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if v is None:
            continue
        if hasattr(v, "__dataclass_fields__"):
            v = asdict(v)
        if isinstance(v, dict):
            out.update(flatten_stats(v, key + "."))
        elif isinstance(v, (list, tuple, np.ndarray)):
            items = list(v)
            if items and all(isinstance(x, dict) for x in items):
                for i, x in enumerate(items):
                    out.update(flatten_stats(x, f"{key}.{i}."))
            elif all(isinstance(x, (bool, int, float, np.number, np.bool_)) or x is None for x in items):
                out[key] = np.array([np.nan if x is None else x for x in items], dtype=float)
            elif all(isinstance(x, str) for x in items):
                out[key] = ", ".join(items)
        elif isinstance(v, (bool, np.bool_)):
            out[key] = bool(v)
        elif isinstance(v, (int, float, np.number, str)):
            out[key] = v
    return out
