"""Command line: thin. Parses arguments, calls the library, hands results to report/.

Each subcommand lives in paramstat/commands/<name>.py with HELP, add_arguments(parser) and run(args).
Command modules import nothing heavy at module level, so `paramstat --help` answers at once.
"""
from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = ("info", "extract", "scan", "compare", "fit", "generate", "probe", "starttrain", "zoo")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="paramstat",
        description="Tell from the weights alone what a checkpoint is: trained or freshly initialized, "
                    "which layers never trained, how two checkpoints differ.",
    )
    parser.add_argument("--version", action="version", version=f"paramstat {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        mod = importlib.import_module(f"paramstat.commands.{name}")
        p = sub.add_parser(name, help=mod.HELP, description=getattr(mod, "DESCRIPTION", mod.HELP))
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show full tracebacks on errors")
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 0
    debug = getattr(args, "debug", False)
    from . import interrupt

    try:
        with interrupt.installed():  # SIGINT/SIGTERM raise interrupt.Interrupted; temp files are removed
            rc = args._run(args)
            interrupt.check()  # a signal whose KeyboardInterrupt a library swallowed still ends the run
        return int(rc or 0)
    except KeyboardInterrupt as err:
        sig = err if isinstance(err, interrupt.Interrupted) else interrupt.Interrupted()
        print(f"paramstat {args.command}: {sig.describe()}", file=sys.stderr)
        return sig.exit_code
    except Exception as err:  # noqa: BLE001 - the one place that turns errors into one line
        if debug:
            raise
        if interrupt.received() is not None:  # a library turned the signal into its own error
            sig = interrupt.Interrupted(interrupt.received())
            print(f"paramstat {args.command}: {sig.describe()}", file=sys.stderr)
            return sig.exit_code
        from .errors import ParamstatError

        if isinstance(err, ParamstatError):
            print(f"paramstat {args.command}: error: {err}", file=sys.stderr)
            return err.exit_code
        print(f"paramstat {args.command}: internal error: {type(err).__name__}: {err} "
              "(run again with --debug for the traceback, and please report it)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
