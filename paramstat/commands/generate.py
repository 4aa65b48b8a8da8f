"""paramstat generate MODEL --profile P --seed S -o init.safetensors: sample an init for a model."""
from __future__ import annotations

HELP = "sample an architecture-native (or classic) init for a timm model or mlp:784,256,10 and save it"
DESCRIPTION = (HELP + ". Tensors are matched to the profile by role, fan_in, fan_out, kernel size and relative "
               "depth; tensors whose role the profile lacks keep the model's own init and are listed. "
               "Deterministic for a seed. Tensors the model's own init leaves constant (zero heads, zero_init_last "
               "gammas, layer scale, norms 1/0) are kept in every scheme unless --no-keep-constants. --check: "
               "output std in eval and train mode within 10x of the model's own fresh init, every hidden M_j in "
               "its band, every native tensor against its profile entry (KS D, mean, std), plus paramstat scan; "
               "exit 1 when a check fails.")


def add_arguments(p) -> None:
    p.add_argument("model", metavar="MODEL", help="timm model name (built with pretrained=False) or mlp:784,256,10")
    p.add_argument("--profile", default="default", metavar="PROFILE.json",
                   help="profile from 'paramstat fit' (default: the packaged one)")
    p.add_argument("--scheme", default="native",
                   help="native (default), lsuv (needs --data) or a classic scheme: xavier_normal, xavier_uniform, "
                        "kaiming_normal, kaiming_uniform, kaiming_normal_fan_out, lecun_normal, orthogonal, "
                        "trunc_normal, he_trunc, he_2x, fan_in_1, default")
    p.add_argument("--scale", default="auto", choices=["auto", "own", "fan", "profile", "data"],
                   help="native: scale of conv/linear/attention weights (family, shape and covariance always from "
                        "the profile): auto (default: the model's own init's std, or the He/LeCun fan law where "
                        "that is PyTorch's default U(+-1/sqrt(fan_in))), own, fan, profile (the trained scale), "
                        "data (then LSUV rescaling on --data)")
    p.add_argument("--data", default=None, metavar="digits|mnist5k|shapeset|FILE.npy",
                   help="batch for --scheme lsuv and --scale data: a lab data set or a .npy array (N, ...)")
    p.add_argument("--batch", type=int, default=32, help="images taken from --data (default 32; LSUV needs >= 16)")
    p.add_argument("--mimetic", type=float, default=None, metavar="RHO",
                   help="native: mix every attention block's key draws with its query draws at correlation RHO "
                        "(mimetic init, Trockman & Kolter 2023), instead of the profile's alignment law")
    p.add_argument("--no-keep-constants", action="store_true",
                   help="also overwrite tensors the model's own init leaves constant (zero heads, BN gammas ...)")
    p.add_argument("--check-size", type=int, default=None, metavar="PX",
                   help="image size of the forward checks for convnets (default: the model's own input size)")
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
    needs_data = scheme == "lsuv" or (scheme == "native" and args.scale == "data")
    if needs_data and args.data is None:
        raise ParamstatError(f"{'lsuv' if scheme == 'lsuv' else '--scale data'} needs a data batch",
                             hint="give --data digits|mnist5k|shapeset|FILE.npy")
    if args.batch < 1:
        raise ParamstatError("--batch must be positive")
    if args.mimetic is not None and not -0.95 <= args.mimetic <= 0.95:
        raise ParamstatError(f"--mimetic must be in [-0.95, 0.95] (got {args.mimetic})")
    if args.output is None and not args.check and not args.json:
        raise ParamstatError("nothing to do", hint="give -o FILE.safetensors, --check or --json")
    from ._common import check_outputs, default_profile

    check_outputs(args.force, args.output, args.json)  # before building the model
    profile, profile_words = default_profile(args.profile)
    from ..init.generate import build_model, generate, save_safetensors
    from ..lab.datasets import data_batch

    batch = None
    if needs_data or args.data is not None:
        batch = data_batch(args.data, build_model(args.model, num_classes=args.num_classes, img_size=args.img_size),
                           args.model, n=args.batch, seed=args.seed)
    model, g = generate(args.model, profile=profile, seed=args.seed, scheme=scheme,
                        num_classes=args.num_classes, img_size=args.img_size, data=batch,
                        keep_constants=not args.no_keep_constants,
                        scale=args.scale if scheme == "native" else None, check_size=args.check_size,
                        qk_rho=args.mimetic)
    if args.output:
        save_safetensors(model, args.output, args.force,
                         metadata={"paramstat": "generate", "model": args.model, "scheme": scheme,
                                   "seed": args.seed, "profile": profile if scheme == "native" else ""})
    out = {"model": args.model, "scheme": scheme, "seed": args.seed, "output": args.output,
           "n_params": g.n_params, "seconds": round(g.seconds, 3), "forward_finite": g.forward_finite,
           "output_std": g.output_std, "output_std_train": g.output_std_train, "unmatched": g.unmatched,
           "kept_constant": g.report.get("kept_constant", [])}
    if "lsuv" in g.report:
        out["data"] = args.data
        out["lsuv"] = g.report["lsuv"]
    if scheme == "native":
        out["profile"] = profile_words
        out["profile_sources"] = g.report["native"]["profile_sources"]
        out["native_scale"] = args.scale
        out["tensors"] = g.report["native"]["rows"]
    checks = None
    if args.check:
        checks = _check(model, g, scheme, args, batch)
        out["check"] = checks
    if args.json:
        from ..report.jsonout import write_json

        write_json(out, args.json, force=args.force)
        if args.json == "-":
            return 0 if (checks is None or checks["passed"]) else 1
    _print(out)
    return 0 if (checks is None or checks["passed"]) else 1


def _check(model, g, scheme, args, batch=None) -> dict:
    from dataclasses import asdict

    from ..lab.check import forward_check, scan_summary

    res: dict = {"forward_finite": g.forward_finite}
    ok = bool(g.forward_finite)
    res["forward"] = forward_check(model, args.model, num_classes=args.num_classes, img_size=args.img_size,
                                   check_size=args.check_size, x=batch)
    ok &= res["forward"]["passed"]
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
    if out.get("lsuv"):
        t = Table(title=f"LSUV on {out['data']} (batch {out['lsuv']['batch']}, tol {out['lsuv']['tol']}): "
                        "output variance per layer")
        for c in ("layer", "role", "Var before", "Var after", "iters", "status"):
            t.add_column(c)
        for r in out["lsuv"]["layers"]:
            t.add_row(r["name"], r["role"], _g(r["var_initial"]), _g(r["var_final"]), str(r["iters"]), r["status"])
        con.print(t)
    if out.get("kept_constant"):
        k = out["kept_constant"]
        con.print(f"kept as the model's own init set them (constant tensors): {len(k)}"
                  + (f" ({', '.join(k[:6])}{' ...' if len(k) > 6 else ''})" if k else ""), highlight=False)
    if out["unmatched"]:
        con.print(f"kept the model's own init (no profile entry): {', '.join(out['unmatched'][:12])}"
                  + (" ..." if len(out["unmatched"]) > 12 else ""))
    c = out.get("check")
    if c:
        f = c["forward"]
        con.print(f"forward on {f['input']} (input std {f['input_std']:.3g}): output std eval {f['output_std_eval']:.3g} (own init "
                  f"{f['own_std_eval']:.3g}, ratio {f['ratio_eval']:.3g}), train {f['output_std_train']:.3g} "
                  f"(own {f['own_std_train']:.3g}, ratio {f['ratio_train']:.3g}): "
                  + ("[green]ok[/]" if f["std_ok"] else "[red]FAIL[/]"), highlight=False)
        con.print(f"M_j: {len(f['M_layers']) - len(f['M_failed'])}/{len(f['M_layers'])} hidden layers in band"
                  + (f"; [red]FAIL[/] {', '.join(f['M_failed'][:6])}" if f["M_failed"] else ""), highlight=False)
        con.print(f"bounds: {f['bounds']}", highlight=False, soft_wrap=True)
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


def _g(x) -> str:
    return "-" if x is None else f"{x:.3g}"
