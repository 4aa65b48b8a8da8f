"""paramstat starttrain: steps / epochs to a target test accuracy for several inits and seeds."""
from __future__ import annotations

HELP = "train a small net from several inits and seeds: steps/epochs to a target test accuracy, curves"
DESCRIPTION = (HELP + ". Architectures: mlp:DxW, mlp:n0,...,nL, cnn[:c1,..], resnet[:B[xC]]; data sets: digits "
               "(default), mnist5k, shapeset. Same data and batch order for every init of a seed.")


def _list(s: str, cast=str):
    return [cast(v.strip()) for v in s.split(",") if v.strip()]


def add_arguments(p):
    p.add_argument("--arch", default="mlp:10x10", help="mlp:DxW, mlp:n0,...,nL, cnn, resnet (default mlp:10x10)")
    p.add_argument("--act", default="relu", choices=["relu", "tanh", "softsign", "sigmoid", "gelu", "silu"])
    p.add_argument("--data", default="digits", choices=["digits", "mnist5k", "shapeset"])
    p.add_argument("--inits", default="he_normal,xavier_uniform",
                   help="comma-separated init schemes of paramstat.init (default he_normal,xavier_uniform)")
    p.add_argument("--profile", default=None, help="native-init profile for 'native' (default: the packaged one)")
    p.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (default 0,1,2)")
    p.add_argument("--target", type=float, default=0.2, help="target test accuracy (default 0.2)")
    p.add_argument("--epochs", type=float, default=10, help="epochs per run (default 10)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--optim", default="sgd", choices=["sgd", "adam"], help="sgd (momentum 0.9, default) or adam")
    p.add_argument("--n-train", type=int, default=None, help="training images (default: the whole split)")
    p.add_argument("--eval-every", type=int, default=None, help="steps between test evaluations (default 1/4 epoch)")
    p.add_argument("--stop-at-target", action="store_true", help="stop each run when it reaches the target")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    p.add_argument("--json", metavar="PATH", default=None, help="write the result as JSON ('-' = stdout)")
    p.add_argument("--plots", metavar="DIR", default=None, help="write curves.png into DIR (created if missing)")
    p.add_argument("--force", action="store_true", help="overwrite existing outputs (--json file, curves.png)")


def run(args):
    from ..errors import ParamstatError

    inits = _list(args.inits)
    try:
        seeds = _list(args.seeds, int)
    except ValueError as err:
        raise ParamstatError(f"bad --seeds {args.seeds!r}", hint="comma-separated integers, e.g. 0,1,2") from err
    if not inits or not seeds:
        raise ParamstatError("need at least one init and one seed")
    if not 0 < args.target <= 1:
        raise ParamstatError(f"--target must be in (0, 1] (got {args.target})")
    if args.epochs <= 0 or args.batch_size < 1 or args.lr <= 0:
        raise ParamstatError("--epochs, --batch-size and --lr must be positive")
    from ._common import check_outputs, default_profile, plot_dir, write_lab_outputs

    check_outputs(args.force, args.json)
    if args.plots:
        plot_dir(args.plots, args.force, ["curves.png"])
    from ..init.classic import canonical

    profile, profile_words = args.profile, None
    if "native" in [canonical(i) for i in inits]:  # every name checked
        profile, profile_words = default_profile(args.profile)
    import torch

    from ..lab.train import start_train
    from ..progress import track

    torch.set_num_threads(max(1, args.threads))
    res = start_train(args.arch, act=args.act, data=args.data, inits=inits, seeds=seeds, target=args.target,
                      epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, optim=args.optim,
                      n_train=args.n_train, eval_every=args.eval_every, profile=profile,
                      stop_at_target=args.stop_at_target, progress=lambda it, n, d: track(it, n, d))
    from ..report.lab_plots import plot_curves
    from ..report.lab_tables import diverged_line, print_table, starttrain_table

    if write_lab_outputs(res.to_dict(), args, "curves.png", plot_curves):
        return 0
    print_table(starttrain_table(res), 140,
                [f"profile: {profile_words}" if profile_words else "", diverged_line(res)])
    return 0
