"""paramstat info SOURCE: every tensor with its role, shape, dtype, fans, size and non-finite count."""
from __future__ import annotations

from ._common import add_source_arguments, check_outputs, load_from_args

HELP = "list the tensors of a checkpoint: role, shape, dtype, fan_in/out, #params, NaN/Inf counts"
DESCRIPTION = (HELP + ". SOURCE is a timm name (--fresh for its own init), a weights file or folder. "
               "Non-finite values are counted, never fatal.")


def add_arguments(p) -> None:
    add_source_arguments(p, nargs="?")  # optional: --model NAME --checkpoint FILE needs no SOURCE
    p.add_argument("--json", metavar="PATH", default=None, help="write the listing as JSON ('-' = stdout)")
    p.add_argument("--force", action="store_true", help="overwrite an existing --json file")
    p.add_argument("--totals-only", action="store_true", help="print only the totals by role")
    p.add_argument("--no-values", action="store_true",
                   help="do not read the values (skips the non-finite count; header/metadata only)")


def summarize(ckpt, read_values: bool = True, progress: bool = True) -> dict:
    """Per-tensor metadata (+ count of NaN/Inf values) and totals by role, as plain data."""
    import numpy as np

    from ..dtypes import as_float
    from ..record import ROLES
    from ..report.progress import track

    tensors = []
    totals: dict[str, dict] = {}
    n_nonfinite = 0
    for r in track(ckpt.records, total=len(ckpt.records), description="reading", enabled=progress and read_values):
        row = r.meta()
        nf = None
        if read_values and r.analysable:
            v = as_float(r.read(), r.dtype)
            nf = int(v.size - np.count_nonzero(np.isfinite(v)))
            del v
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


def run(args) -> int:
    check_outputs(args.force, args.json)  # before loading anything
    ckpt = load_from_args(args)
    info = summarize(ckpt, read_values=not args.no_values)
    if args.json:
        from ..report.jsonout import write_json

        write_json(info, args.json, force=args.force)
        if args.json == "-":
            return 0
    from ..report.info_table import print_info

    print_info(info, show_tensors=not args.totals_only)
    return 0
