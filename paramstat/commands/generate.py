"""paramstat generate MODEL --profile P --seed S -o init.safetensors: sample an init for a model."""
from __future__ import annotations

HELP = "sample an architecture-native (or classic) init for a timm model or mlp:784,256,10 and save it"
DESCRIPTION = (HELP + ". Tensors are matched to the profile by role, fan_in, fan_out, kernel size and relative "
               "depth; tensors whose role the profile lacks keep the model's own init and are listed. "
               "Deterministic for a seed. --check compares every tensor with its profile entry (KS D, mean, "
               "std within stated bounds) and runs paramstat scan on the result.")


def add_arguments(p) -> None:
    p.add_argument("model", metavar="MODEL", help="timm model name (built with pretrained=False) or mlp:784,256,10")
    p.add_argument("--profile", default="default", metavar="PROFILE.json",
                   help="profile from 'paramstat fit' (default: the packaged one)")
    p.add_argument("--scheme", default="native",
                   help="native (default) or a classic scheme: xavier_normal, xavier_uniform, kaiming_normal, "
                        "kaiming_uniform, kaiming_normal_fan_out, lecun_normal, orthogonal, trunc_normal, "
                        "he_trunc, he_2x, fan_in_1, default")
    p.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    p.add_argument("-o", "--output", default=None, metavar="FILE.safetensors", help="where to save the state_dict")
    p.add_argument("--force", action="store_true", help="overwrite the output (and the --json file)")
    p.add_argument("--num-classes", type=int, default=None, help="timm: number of classes")
    p.add_argument("--img-size", type=int, default=None, help="timm ViTs: image size")
    p.add_argument("--check", action="store_true",
                   help="check every tensor against its profile entry and scan the result")
    p.add_argument("--json", metavar="PATH", default=None, help="write the report as JSON ('-' = stdout)")


def run(args) -> int:
    from ..errors import ParamstatError
    from ..init.classic import canonical

    scheme = canonical(args.scheme)
    if scheme == "lsuv":
        raise ParamstatError("lsuv needs a data batch", hint="use paramstat.init.lsuv_(model, batch) from Python")
    if args.output is None and not args.check and not args.json:
        raise ParamstatError("nothing to do", hint="give -o FILE.safetensors, --check or --json")
    from ._common import check_outputs, default_profile

    check_outputs(args.force, args.output, args.json)  # before building the model
    profile, profile_words = default_profile(args.profile)
    from ..init.generate import generate, save_safetensors

    model, g = generate(args.model, profile=profile, seed=args.seed, scheme=scheme,
                        num_classes=args.num_classes, img_size=args.img_size)
    if args.output:
        save_safetensors(model, args.output, args.force,
                         metadata={"paramstat": "generate", "model": args.model, "scheme": scheme,
                                   "seed": args.seed, "profile": profile if scheme == "native" else ""})
    out = {"model": args.model, "scheme": scheme, "seed": args.seed, "output": args.output,
           "n_params": g.n_params, "seconds": round(g.seconds, 3), "forward_finite": g.forward_finite,
           "output_std": g.output_std, "output_std_train": g.output_std_train, "unmatched": g.unmatched}
    if scheme == "native":
        out["profile"] = profile_words
        out["profile_sources"] = g.report["native"]["profile_sources"]
        out["tensors"] = g.report["native"]["rows"]
    checks = None
    if args.check:
        checks = _check(model, g, scheme)
        out["check"] = checks
    if args.json:
        from ..report.jsonout import write_json

        write_json(out, args.json, force=args.force)
        if args.json == "-":
            return 0 if (checks is None or checks["passed"]) else 1
    _print(out)
    return 0 if (checks is None or checks["passed"]) else 1


def _check(model, g, scheme) -> dict:
    from dataclasses import asdict

    from ..init.generate import scan_summary

    res: dict = {"forward_finite": g.forward_finite}
    ok = bool(g.forward_finite)
    if scheme == "native":
        from ..init.native import CHECK_BOUNDS, NativeReport, NativeRow, check_native

        nr = g.report["native"]
        rep = NativeReport(nr["seed"], nr["profile_sources"], [NativeRow(**r) for r in nr["rows"]], nr["unmatched"])
        rows = check_native(model, rep)
        res["tensors"] = [asdict(r) for r in rows]
        res["n_checked"] = len(rows)
        res["n_failed"] = sum(not r.ok for r in rows)
        res["bounds"] = CHECK_BOUNDS
        ok &= res["n_failed"] == 0
    res["scan"] = scan_summary(model)
    res["passed"] = bool(ok)
    return res


def _print(out: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console()
    con.print(f"[bold]{out['model']}[/]: {out['scheme']} init, seed {out['seed']}, {out['n_params']:,} parameters, "
              f"{out['seconds']:.2f} s; forward finite: {out['forward_finite']} (output std {out['output_std']:.3g} eval, "
              f"{out['output_std_train']:.3g} train-mode BN)"
              + (f"; saved {out['output']}" if out["output"] else ""), highlight=False)
    if out.get("profile"):
        con.print(f"profile: {out['profile']}", highlight=False, soft_wrap=True)
    if out.get("tensors"):
        by: dict = {}
        for r in out["tensors"]:
            d = by.setdefault((r["role"], r["matched_role"], r["family"]), [0, 0, [], 0])
            d[0] += 1
            d[1] += r["n"]
            d[2].append(r["scale"])
            d[3] += bool(r["extrapolated"])
        t = Table(title="sampled tensors by role")
        for c in ("role", "profile entry", "family", "tensors", "values", "scale min..max", "extrapolated"):
            t.add_column(c)
        for (role, mrole, fam), (n, nv, sc, ex) in by.items():
            t.add_row(role, mrole, fam, str(n), f"{nv:,}", f"{min(sc):.3g}..{max(sc):.3g}", str(ex))
        con.print(t)
    if out["unmatched"]:
        con.print(f"kept the model's own init (no profile entry): {', '.join(out['unmatched'][:12])}"
                  + (" ..." if len(out["unmatched"]) > 12 else ""))
    c = out.get("check")
    if c:
        if "tensors" in c:
            bad = [r for r in c["tensors"] if not r["ok"]]
            con.print(f"check: {c['n_checked'] - c['n_failed']}/{c['n_checked']} tensors within bounds ({c['bounds']})")
            for r in bad[:10]:
                con.print(f"  [red]FAIL[/] {r['name']}: KS D {r['ks_d']} (<= {r['ks_bound']}), "
                          f"mean dev {r['mean_dev']:.3g} (<= {r['mean_bound']:.3g}), std ratio {r['std_ratio']:.3f}")
        s = c["scan"]
        if s.get("available"):
            con.print(f"scan calls it [bold]{s['verdict']}[/] (score {s['score']:.2f}; {s['counts']})")
            for role, cnt in s["by_role"].items():
                con.print(f"  {role}: {cnt}" + "".join(f"\n    {w}" for w in s["why"].get(role, [])))
        else:
            con.print(s.get("error", "scan unavailable"))
        con.print("[green]check passed[/]" if c["passed"] else "[red]check failed[/]")
