"""paramstat compare A B: what changed between two checkpoints, layer by layer."""
from __future__ import annotations

HELP = "diff two checkpoints tensor by tensor: relative change, cosine, distributions, bits, relation label"
DESCRIPTION = (
    "Compare checkpoint B with checkpoint A tensor by tensor (matched by name; names that differ by a prefix "
    "or, unless --by-name, left-over tensors whose shapes agree in order are paired too) and label each tensor "
    "and the pair: identical, bit-identical up to dtype cast, fine-tuned, retrained, independent; a pair "
    "can also be modified (a few tensors changed), different architectures or too little in common. A and B are "
    "timm names (--fresh for their own init; --seed-a/--seed-b), weight files, folders or .h5 files. "
    "Both are streamed one tensor at a time. Thresholds: docs/COMPARE.md.")


def add_arguments(p) -> None:
    from ..formats import SOURCE_HELP
    from ._common import add_bound_options

    p.add_argument("a", metavar="A", help="reference checkpoint: " + SOURCE_HELP)
    p.add_argument("b", metavar="B", help="checkpoint compared with A")
    p.add_argument("--fresh", action="store_true", help="timm names on both sides: build with their own init")
    p.add_argument("--fresh-a", action="store_true", help="timm name A: fresh init (B stays as given)")
    p.add_argument("--fresh-b", action="store_true", help="timm name B: fresh init (A stays as given)")
    p.add_argument("--seed-a", type=int, default=0, help="seed of a fresh A (default 0)")
    p.add_argument("--seed-b", type=int, default=0, help="seed of a fresh B (default 0)")
    p.add_argument("--model", metavar="NAME", default=None,
                   help="timm architecture that gives layer roles to weight files on both sides")
    p.add_argument("--by-name", action="store_true",
                   help="match tensors by name only: never pair left-over tensors by position and shape")
    p.add_argument("--trust-pickle", action="store_true",
                   help="allow pickles that need arbitrary code (runs code from the file: only files you trust)")
    add_bound_options(p)
    p.add_argument("--json", metavar="PATH", default=None,
                   help="write the full result as JSON ('-' = stdout, and nothing else is printed there)")
    p.add_argument("--plots", metavar="DIR", default=None,
                   help="write rel_change.png (per tensor, network order) and histograms.png into DIR")
    p.add_argument("--plot-tensor", metavar="NAME", action="append", default=None,
                   help="tensor for the histogram overlay (repeatable; default: the most-changed ones)")
    p.add_argument("--top", type=int, default=10, metavar="N", help="show the N most-changed tensors (default 10)")
    p.add_argument("--subsample", type=int, default=100_000, metavar="K",
                   help="values per tensor for KS/Wasserstein/robust statistics (default 100000)")
    p.add_argument("--deep", choices=("auto", "all", "none"), default="auto",
                   help="best-fit family and spectral spikes of A and B: auto = the --deep-top most-changed "
                        "weight tensors, all = every changed weight tensor (slow: ~1 s each), none")
    p.add_argument("--deep-top", type=int, default=8, metavar="N",
                   help="tensors for --deep auto (default 8)")
    p.add_argument("--html", metavar="REPORT.html", default=None,
                   help="also write a self-contained HTML report (one file, opens offline: docs/REPORTS.md)")
    p.add_argument("--force", action="store_true", help="overwrite existing outputs (--json, --html, plot files)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _fresh_flags(args) -> tuple[bool | None, bool | None]:
    fa = True if (args.fresh or args.fresh_a) else False
    fb = True if (args.fresh or args.fresh_b) else False
    return fa, fb


def run(args) -> int:
    from ..errors import ParamstatError

    if args.top < 0:
        raise ParamstatError(f"--top must be >= 0 (got {args.top})")
    if args.subsample < 100:
        raise ParamstatError(f"--subsample must be at least 100 (got {args.subsample})")
    from ._common import check_outputs, plot_dir

    check_outputs(args.force, args.json, args.html)        # before the work, not after it
    if args.plots:
        plot_dir(args.plots, args.force, ("rel_change.png", "histograms.png"))
    from ..compare import compare

    fa, fb = _fresh_flags(args)
    res = compare(args.a, args.b, fresh_a=fa, fresh_b=fb, seed_a=args.seed_a, seed_b=args.seed_b,
                  model=args.model, trust_pickle=args.trust_pickle, by_name=args.by_name, progress=not args.no_progress,
                  subsample=args.subsample, deep=args.deep, deep_top=args.deep_top)
    if args.json is not None:
        from ..report.jsonout import write_json

        write_json(res.to_dict(), args.json, force=args.force)
    if args.json != "-":
        from ..report.compare_report import render

        render(res, top=args.top)
    if args.html:
        from ..report.html import write_compare_html

        write_compare_html(res, args.html, force=args.force)
    if args.plots:
        from ..report.compare_plots import write_plots

        paths = write_plots(res, args.plots, names=args.plot_tensor, force=args.force)
        if args.json != "-":
            import sys

            print("plots: " + ", ".join(map(str, paths)), file=sys.stderr)
    return 0
