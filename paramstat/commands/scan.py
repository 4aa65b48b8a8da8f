"""paramstat scan: trained / untrained / mixed, per tensor and per checkpoint, with the evidence."""
from __future__ import annotations

import sys
import time

from ._common import add_source_arguments, check_outputs, plot_dir

HELP = "judge whether a checkpoint (and each tensor) is trained, untrained, or mixed"
DESCRIPTION = (
    "Stream every tensor through the statistics engine and the verdict model. Prints the checkpoint "
    "verdict, a per-layer-type table in the layout of the seed's Table 3 (max |runs Z| of fraction bits "
    "0-7 / 8-15 / 16-22, mean |Z|) with verdict counts, and the never-trained tensors behind a 'mixed' verdict."
)


def add_arguments(p) -> None:
    add_source_arguments(p, nargs="?")
    p.add_argument("--details", action="store_true", help="print every tensor (name, role, shape, verdict, "
                                                           "score, top evidence)")
    p.add_argument("--json", metavar="PATH", default=None,
                   help="write the full result as JSON ('-' = stdout; then nothing else goes to stdout)")
    p.add_argument("--h5", metavar="OUT.h5", default=None,
                   help="also store the weights with every statistic beside them in an HDF5 file")
    p.add_argument("--plots", metavar="DIR", default=None,
                   help="write PNG plots (histograms with fitted pdfs, bit-position heatmap of runs Z, "
                        "spectra vs Marchenko–Pastur, score per tensor)")
    p.add_argument("--html", metavar="REPORT.html", default=None,
                   help="also write a self-contained HTML report (one file, opens offline: docs/REPORTS.md)")
    p.add_argument("--force", action="store_true", help="overwrite existing --h5 / --plots / --json / --html outputs")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--no-hash", action="store_true",
                   help="leave the provenance sha256 empty (a safetensors file is hashed by the analysis' own "
                        "reads anyway; other formats need one more full read)")


PLOT_FILES = ("hist.png", "bits_heatmap.png", "spectra.png", "scores.png")


def _check_outputs(args) -> None:
    """Refuse existing outputs before the work, not after it."""
    check_outputs(args.force, args.json, args.h5, args.html)
    if args.plots:
        plot_dir(args.plots, args.force, PLOT_FILES)


def run(args) -> int:
    from rich.console import Console

    from ..verdict import scan

    json_stdout = args.json == "-"
    out = Console(stderr=json_stdout)
    err = Console(stderr=True)
    if args.source is None and args.checkpoint is None:
        from ..errors import ParamstatError

        raise ParamstatError("no source given", hint="pass a timm model name, a checkpoint file or a folder")
    _check_outputs(args)
    result = scan(args.source, fresh=args.fresh, seed=args.seed, model=args.model, checkpoint=args.checkpoint,
                  trust_pickle=args.trust_pickle, h5=args.h5, force=args.force,
                  progress=not args.no_progress, keep_bits=args.plots is not None or args.html is not None,
                  hash=not args.no_hash)
    t0 = time.perf_counter()
    if not json_stdout:
        from ..report.scan_report import render

        render(result, out, details=args.details)
    if args.plots:
        from ..report.plots import write_all
        from ..verdict.plotdata import plot_data

        paths = write_all(plot_data(result), args.plots, force=args.force)
        err.print(f"wrote {len(paths)} plots to {args.plots}: " + ", ".join(p.name for p in paths))
    if args.html:
        from ..report.html import write_scan_html

        write_scan_html(result, args.html, force=args.force)
        err.print(f"wrote {args.html}")
    if args.h5:
        err.print(f"wrote weights and statistics to {args.h5}")
    result.timings["report"] = time.perf_counter() - t0
    if args.json:
        from ..report.jsonout import write_json

        write_json(result.to_dict(), args.json, force=True if json_stdout else args.force)
        if not json_stdout:
            err.print(f"wrote {args.json}")
    sys.stdout.flush()
    return 0
