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
                   help="do not read the values (skips the non-finite count and the sha256; header/metadata only)")
    p.add_argument("--no-hash", action="store_true", help="leave the provenance sha256 empty")


def run(args) -> int:
    check_outputs(args.force, args.json)  # before loading anything
    from ..report.info_summary import summarize

    # values read in byte order hash a safetensors file in the same pass; headers only: no hash
    ckpt = load_from_args(args, hash=False if args.no_values or args.no_hash else "deferred")
    info = summarize(ckpt, read_values=not args.no_values)
    if args.json:
        from ..report.jsonout import write_json

        write_json(info, args.json, force=args.force)
        if args.json == "-":
            return 0
    from ..report.info_table import print_info

    print_info(info, show_tensors=not args.totals_only)
    return 0
