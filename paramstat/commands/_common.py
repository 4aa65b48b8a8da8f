"""Arguments shared by commands that read a checkpoint."""
from __future__ import annotations

import argparse

from ..formats import SOURCE_HELP


def add_source_arguments(p: argparse.ArgumentParser, name: str = "source", nargs=None) -> None:
    p.add_argument(name, nargs=nargs, metavar=name.upper(), help=SOURCE_HELP)
    add_load_options(p)


def check_outputs(force: bool, *paths) -> None:
    """Refuse existing outputs (unless ``force``) before any work is done; None and '-' (stdout) are
    skipped, special files such as /dev/null pass (atomic.check_writable)."""
    from ..atomic import check_writable

    for path in paths:
        if path is not None and str(path) != "-":
            check_writable(path, force)


def plot_dir(path: str, force: bool, names, create: bool = False) -> None:
    """A --plots folder: refused when it is a file or when one of ``names`` exists in it and not ``force``;
    with ``create`` made when missing (with its parents), as scan and compare do."""
    from pathlib import Path

    from ..errors import ParamstatError

    d = Path(path)
    if d.exists() and not d.is_dir():
        raise ParamstatError("--plots needs a folder, this is a file", path=str(d))
    check_outputs(force, *(d / n for n in names if (d / n).exists()))
    if create:
        d.mkdir(parents=True, exist_ok=True)


def write_lab_outputs(d: dict, args, png: str, plot) -> bool:
    """The lab commands' outputs: ``plot(d, DIR/png, force=)`` for --plots and the JSON of ``d`` for --json.
    True when the JSON went to stdout, so nothing else may be printed."""
    from pathlib import Path

    if args.plots:
        plot_dir(args.plots, args.force, [png], create=True)
        plot(d, Path(args.plots) / png, force=args.force)
    if args.json:
        from ..report.jsonout import write_json

        write_json(d, args.json, force=args.force)
    return args.json == "-"


def default_profile(profile: str | None) -> tuple[str, str]:
    """(profile argument, words for the output): ``None`` means the packaged default profile."""
    if profile not in (None, "default"):
        return profile, profile
    from ..init.profile import default_profile_path

    return "default", f"default (packaged: {default_profile_path()})"


def add_load_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--fresh", action="store_true",
                   help="timm name: build the model with pretrained=False (its own init) instead of downloading")
    p.add_argument("--seed", type=int, default=0, help="seed for --fresh (default 0)")
    p.add_argument("--model", metavar="NAME", default=None,
                   help="architecture (timm name) that gives layer roles to weights from --checkpoint/SOURCE "
                        "(matched by name, else by position and shape; a classifier with another number of "
                        "classes gets the architecture built with that num_classes)")
    p.add_argument("--checkpoint", metavar="FILE", default=None, help="weights file for --model")
    p.add_argument("--trust-pickle", action="store_true",
                   help="allow pickles that need arbitrary code (runs code from the file: only for files you trust)")
    add_bound_options(p)


def add_bound_options(p: argparse.ArgumentParser) -> None:
    """--max-tensor-bytes and --allow-external: the bounds on hostile files every reading command takes."""
    p.add_argument("--max-tensor-bytes", metavar="SIZE", default="auto", type=_max_tensor_bytes,
                   help="refuse any tensor, archive member or HDF5 dataset declaring more bytes than this "
                        "(e.g. 16G; default 8G or a quarter of the RAM, whichever is less)")
    p.add_argument("--allow-external", nargs="?", const="yes", default="no", metavar="yes|no",
                   type=_allow_external,
                   help="follow HDF5 external links / external storage / virtual datasets when the files "
                        "they name lie inside the input's folder (refused by default)")


def _max_tensor_bytes(value: str) -> int:
    """Sets the bound on hostile files while parsing (sources/limits.py, docs/SECURITY.md)."""
    from ..sources.limits import cli_max_tensor_bytes

    return cli_max_tensor_bytes(value)


def _allow_external(value: str) -> bool:
    from ..sources.limits import cli_allow_external

    return cli_allow_external(value)


def load_from_args(args, source: str | None = None, hash=True):
    """Call paramstat.load with the shared options (``hash``: load's, the provenance sha256)."""
    from ..sources import load

    src = source if source is not None else getattr(args, "source", None)
    return load(src, fresh=args.fresh, seed=args.seed, model=args.model, checkpoint=args.checkpoint,
                trust_pickle=args.trust_pickle, hash=hash)
