"""``zoo compare``: every checkpoint against one base, one Dask task each, into the ``comparisons`` table.

Each worker runs ``paramstat.compare(BASE, SOURCE)`` itself (both read on the worker) and returns the
relation label, the per-tensor relation counts and the names of the tensors that changed. Rerun rule as for
``zoo scan`` (run.py), keyed by (base, checkpoint key, paramstat version).
"""
from __future__ import annotations

import contextlib
import os
import time

from .discover import discover
from .run import RunCounts, _base_row, _died, _version, todo
from .store import Writer


def base_key(base: str) -> str:
    p = os.path.expanduser(base)
    return os.path.realpath(p) if os.path.exists(p) else base


@contextlib.contextmanager
def _nothing():
    yield None


def compare_zoo(base: str, sources: list[str], db: str, *, workers: int | None = None,
                scheduler: str | None = None, retries: int = 2, retry_errors: bool = False,
                progress: bool = True) -> RunCounts:
    from distributed import as_completed

    from ..progress import counting
    from . import task
    from .cluster import describe, open_client

    t_start = time.perf_counter()
    version = _version()
    bkey = base_key(base)
    items = [it for it in discover(sources) if it.key != bkey]
    writer = Writer(db)
    try:
        pending, skipped = todo(items, writer.done(version, table="comparisons", base=bkey), retry_errors)
        counts = RunCounts(sources=len(items), skipped=skipped, submitted=len(pending))
        with open_client(workers, scheduler, retries) if pending else _nothing() as client:
            address, n_workers = describe(client) if client is not None else ("local", 0)
            counts.run_id = writer.start_run("compare", version, address if scheduler else "local",
                                             n_workers, len(items))
            futs, order = {}, []
            for it, replace in pending:
                f = client.submit(task.compare_task, bkey, it.source, pure=False, retries=0)
                futs[f.key] = (it, replace)
                order.append(f)
            with counting(len(pending), "zoo compare", names=("done", "failed"), enabled=progress) as bar:
                for fut in as_completed(order):
                    it, replace = futs.pop(fut.key)
                    row = fut.result() if fut.status != "error" else {"error": _died(fut.exception(), retries)}
                    fut.release()
                    row = {**_base_row(it, version), "base": bkey, **row}
                    writer.insert_comparison(counts.run_id, row, replace=replace)
                    if row.get("error"):
                        counts.failed += 1
                        bar.advance("failed")
                    else:
                        counts.done += 1
                        bar.advance("done")
        counts.wall_s = time.perf_counter() - t_start
        writer.finish_run(counts.run_id, counts.to_dict(), counts.wall_s)
        return counts
    finally:
        writer.close()
