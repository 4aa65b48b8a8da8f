"""paramstat extract SOURCE -o out.h5: every tensor into an HDF5 file, streamed one at a time."""
from __future__ import annotations

from ._common import add_source_arguments, check_outputs, load_from_args

HELP = "write every tensor of a checkpoint to HDF5 (original dtype, roles, fans, provenance)"
DESCRIPTION = (HELP + ". One dataset per tensor in a group tree following the module names; tensors are "
               "streamed one at a time; the output is written to a temp file and renamed.")


H5_NAMES = (".h5", ".hdf5")


def add_arguments(p) -> None:
    add_source_arguments(p, nargs="?")  # optional: --model NAME --checkpoint FILE needs no SOURCE
    p.add_argument("-o", "--output", required=True, metavar="OUT.h5", help="HDF5 file to write")
    p.add_argument("--force", action="store_true", help="overwrite OUT.h5 (and the --json file) if they exist")
    p.add_argument("--compression", default="gzip", choices=["gzip", "gzip:4", "gzip:9", "lzf", "none"],
                   help="dataset compression (default gzip level 1 with shuffle)")
    p.add_argument("--json", metavar="PATH", default=None, help="write a summary as JSON ('-' = stdout)")


def run(args) -> int:
    import os
    import time

    from ..atomic import is_special
    from ..errors import ParamstatError

    if not is_special(args.output) and not args.output.lower().endswith(H5_NAMES):
        raise ParamstatError("extract writes HDF5: name the output .h5", path=args.output,
                             hint="e.g. -o " + os.path.splitext(os.path.basename(args.output))[0] + ".h5")
    check_outputs(args.force, args.output, args.json)  # fail before loading anything
    ckpt = load_from_args(args)
    from ..store import write_h5

    t0 = time.perf_counter()
    out = write_h5(ckpt, args.output, force=args.force, compression=args.compression, progress=True)
    dt = time.perf_counter() - t0
    size = os.path.getsize(out)
    summary = {"output": str(out), "source": ckpt.source, "format": ckpt.format, "n_tensors": len(ckpt),
               "n_params": ckpt.n_params, "bytes": size, "seconds": round(dt, 3), "warnings": ckpt.warnings}
    if args.json:
        from ..report.jsonout import write_json

        write_json(summary, args.json, force=args.force)
        if args.json == "-":
            return 0
    from rich.console import Console

    c = Console()
    c.print(f"wrote [bold]{out}[/]: {len(ckpt)} tensors, {ckpt.n_params:,} parameters, "
            f"{size / 2**20:.1f} MiB in {dt:.1f} s", highlight=False, soft_wrap=True)
    for w in ckpt.warnings:
        c.print(f"[yellow]warning:[/] {w}", highlight=False, soft_wrap=True)
    return 0
