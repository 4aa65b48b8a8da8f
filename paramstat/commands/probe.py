"""paramstat probe MODEL --init SCHEME: FM1/FM2 length scales, saturation and gradients per layer."""
from __future__ import annotations

HELP = "forward/backward one batch through a freshly initialized model: M_j, Var M_j, beta, saturation, gradients"
DESCRIPTION = (HELP + ". MODEL is a timm name (built with pretrained=False) or a built-in spec: mlp:DxW "
               "(D hidden layers of width W), mlp:n0,n1,...,nL, cnn[:c1,c2,..], resnet[:B[xC]]. "
               "M_j = ||act_j||^2/n_j (Hanin & Rolnick 2018), beta = sum of 1/n_j over hidden layers.")


def add_arguments(p):
    p.add_argument("model", metavar="MODEL", help="timm name or mlp:DxW, mlp:n0,...,nL, cnn, resnet")
    p.add_argument("--init", default="default",
                   help="init scheme from paramstat.init (default, he_normal, he_uniform, xavier_normal, "
                        "xavier_uniform, lecun_normal, orthogonal, trunc_normal, he_trunc, he_2x, fan_in_1, "
                        "lsuv, native); default: the model's own init")
    p.add_argument("--profile", default=None,
                   help="native-init profile (path or name) for --init native (default: the packaged one)")
    p.add_argument("--act", default="relu", choices=["relu", "tanh", "softsign", "sigmoid", "gelu", "silu"],
                   help="activation of built-in specs (default relu)")
    p.add_argument("--data", default="random", choices=["random", "digits", "mnist5k", "shapeset"],
                   help="inputs: standard normal (default) or training images of a lab data set")
    p.add_argument("--batch", type=int, default=64, help="batch size (default 64)")
    p.add_argument("--input-shape", default=None, metavar="C,H,W",
                   help="input shape for --data random (default: the model's own)")
    p.add_argument("--seed", type=int, default=0, help="seed for model, init and batch (default 0)")
    p.add_argument("--json", metavar="PATH", default=None, help="write the result as JSON ('-' = stdout)")
    p.add_argument("--plots", metavar="DIR", default=None, help="write probe.png into DIR (created if missing)")
    p.add_argument("--force", action="store_true", help="overwrite existing outputs (--json file, probe.png)")


def run(args):
    from ..errors import ParamstatError

    if args.batch < 2:
        raise ParamstatError("--batch must be >= 2 (Var M_j is over the batch)")
    shape = None
    if args.input_shape:
        try:
            shape = tuple(int(v) for v in args.input_shape.split(","))
        except ValueError as err:
            raise ParamstatError(f"bad --input-shape {args.input_shape!r}", hint="e.g. 3,64,64") from err
    from ._common import check_outputs, default_profile, plot_dir, write_lab_outputs

    check_outputs(args.force, args.json)
    if args.plots:
        plot_dir(args.plots, args.force, ["probe.png"])
    from ..init.classic import canonical

    profile, profile_words = args.profile, None
    if canonical(args.init) == "native":
        profile, profile_words = default_profile(args.profile)
    import torch

    from ..lab.probe import probe_spec

    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    res = probe_spec(args.model, init=args.init, act=args.act, data=args.data, batch=args.batch, seed=args.seed,
                     profile=profile, in_shape=shape)
    from ..report.lab_plots import plot_probe
    from ..report.lab_tables import print_table, probe_footer, probe_table

    if write_lab_outputs(res.to_dict(), args, "probe.png", plot_probe):
        return 0
    title = f"probe {args.model}  init={args.init}  data={args.data}  batch={res.batch}  seed={args.seed}"
    print_table(probe_table(res, title), 160,
                [f"profile: {profile_words}" if profile_words else "", probe_footer(res)])
    return 0
