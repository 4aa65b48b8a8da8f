"""What `paramstat info` reports, as plain data: per-tensor metadata, the NaN/Inf count of each tensor
(values read one tensor at a time) and totals by role. report/info_table.py draws it."""
from __future__ import annotations


def summarize(ckpt, read_values: bool = True, progress: bool = True) -> dict:
    """Per-tensor metadata (+ count of NaN/Inf values) and totals by role, as plain data."""
    import numpy as np

    from ..dtypes import as_float
    from ..progress import track
    from ..record import ROLES

    tensors = []
    totals: dict[str, dict] = {}
    n_nonfinite = 0
    counts: dict[str, int] = {}
    if read_values:  # in byte order: one sequential pass, which also completes a deferred sha256
        for r in track(ckpt.in_byte_order(), total=len(ckpt.records), description="reading", enabled=progress):
            if r.analysable:
                v = as_float(r.read(), r.dtype)
                counts[r.name] = int(v.size - np.count_nonzero(np.isfinite(v)))
                del v
        ckpt.finish_provenance()
    for r in ckpt.records:
        row = r.meta()
        nf = counts.get(r.name)
        if nf is not None:
            n_nonfinite += nf
        row["nonfinite"] = nf
        tensors.append(row)
        d = totals.setdefault(r.role, {"tensors": 0, "numel": 0, "nonfinite": 0 if read_values else None})
        d["tensors"] += 1
        d["numel"] += r.numel
        if nf:
            d["nonfinite"] += nf
    totals = {k: totals[k] for k in ROLES if k in totals} | {k: v for k, v in totals.items() if k not in ROLES}
    warnings = list(ckpt.warnings)
    bad = [t for t in tensors if t["nonfinite"]]
    if bad:
        warnings.append(f"{n_nonfinite:,} non-finite value(s) (NaN/Inf) in {len(bad)} tensor(s): "
                        + ", ".join(t["name"] for t in bad[:5]) + (" ..." if len(bad) > 5 else ""))
    return {
        "source": ckpt.source, "format": ckpt.format, "provenance": ckpt.provenance, "warnings": warnings,
        "n_tensors": len(tensors), "n_params": ckpt.n_params,
        "totals": {"tensors": len(tensors), "numel": sum(t["numel"] for t in tensors),
                   "nonfinite": n_nonfinite if read_values else None},
        "totals_by_role": totals, "tensors": tensors,
    }
