"""Drive a zoo run: decide what is left to do, feed Dask a bounded window of tasks, write each result as it
arrives (one transaction per checkpoint), show progress.

Rerun rule ("nothing lost, nothing done twice", docs/ZOO.md): before anything is submitted, a checkpoint is
skipped when the DB holds a row for the same key (resolved path; the source string for names) and
paramstat version whose fingerprint (total size, newest mtime of its files) is unchanged. Error rows count
as done too unless ``retry_errors``. A changed fingerprint is scanned again and its old row replaced. When a
result arrives whose sha256 a row of this version already has under another key (a copy of the file), the
new row records ``duplicate_of`` and the summary fields but no second set of tensor rows.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from .discover import Item, discover
from .split import SLICE_BYTES, SPLIT_ABOVE, SplitJob, should_split
from .store import Done, Writer


@dataclass
class RunCounts:
    sources: int = 0
    skipped: int = 0       # already in the DB (not submitted)
    done: int = 0          # rows written without error
    failed: int = 0        # error rows written
    duplicates: int = 0    # rows that point to an identical file's row (duplicate_of)
    submitted: int = 0     # checkpoints sent to workers in this run
    run_id: int | None = None
    wall_s: float = 0.0
    peak_rss: dict = field(default_factory=dict)   # worker -> peak RSS (bytes) reported by its tasks

    def to_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items()}


def _version() -> str:
    from .. import __version__

    return __version__


def todo(items: list[Item], done: Done, retry_errors: bool) -> tuple[list[tuple[Item, int | None]], int]:
    """[(item, id of the row to replace or None)] still to do, and how many are skipped."""
    out, skipped = [], 0
    for it in items:
        prev = done.by_key.get(it.key)
        if prev is None:
            out.append((it, None))
            continue
        size, mtime, is_error, cid = prev
        same = it.path is None or (size == it.size and mtime == it.mtime_ns)
        if same and not (is_error and retry_errors):
            skipped += 1
        else:
            out.append((it, cid))
    return out, skipped


def _base_row(it: Item, version: str) -> dict:
    return {"source": it.source, "path": it.path, "file_size": it.size, "mtime_ns": it.mtime_ns,
            "paramstat_version": version}


def _outcome(fut) -> tuple[object, BaseException | None]:
    """(result, None) or (None, the error): a task whose worker died too often (KilledWorker), one cancelled
    (the scheduler lost it), or a plan task that raised. The future is released either way."""
    import asyncio

    try:
        return fut.result(), None
    except (Exception, asyncio.CancelledError) as err:  # noqa: BLE001 - becomes the checkpoint's error row
        return None, err
    finally:
        fut.release()


def _died(err: BaseException, retries: int) -> str:
    from .task import one_line

    name = type(err).__name__
    if name == "KilledWorker":
        return (f"a worker died on this checkpoint each time it ran (KilledWorker, {retries} retries): it may "
                "need more memory than a worker has; rerun with --retry-errors and fewer, larger workers")
    return one_line(err)


def scan_zoo(sources: list[str], db: str, *, workers: int | None = None, scheduler: str | None = None,
             retries: int = 2, split: bool = False, split_above: int = SPLIT_ABOVE,
             slice_bytes: int = SLICE_BYTES, retry_errors: bool = False, progress: bool = True,
             window: int | None = None, commit_every: int = 1) -> RunCounts:
    """Scan every checkpoint ``sources`` name into the DuckDB file ``db``; return the run's counts.

    ``commit_every``: checkpoints per transaction (1: each committed alone; K > 1 amortises the commit for
    huge zoos of tiny checkpoints, and a killed client then loses up to K-1 finished results, which a rerun
    recomputes)."""
    from distributed import as_completed

    from ..progress import counting
    from . import task
    from .cluster import describe, open_client

    t_start = time.perf_counter()
    version = _version()
    items = discover(sources)
    writer = Writer(db, commit_every=commit_every)        # takes the DB lock before any cluster starts
    try:
        done = writer.done(version)
        pending, skipped = todo(items, done, retry_errors)
        counts = RunCounts(sources=len(items), skipped=skipped, submitted=len(pending))
        if not pending:
            counts.run_id = writer.start_run("scan", version, scheduler or "local", 0, len(items))
            writer.finish_run(counts.run_id, counts.to_dict(), time.perf_counter() - t_start)
            counts.wall_s = time.perf_counter() - t_start
            return counts
        by_sha = done.by_sha
        with open_client(workers, scheduler, retries) as client:
            address, n_workers = describe(client)
            counts.run_id = writer.start_run("scan", version, address if scheduler else "local", n_workers,
                                             len(items))
            queue = iter(pending)
            meta: dict = {}          # future key -> ('scan', item, replace) | ('plan', job, replace) | ('slice', job, k)
            ac = as_completed([])

            def submit_next() -> bool:
                nxt = next(queue, None)
                if nxt is None:
                    return False
                it, replace = nxt
                if should_split(it, force=split, split_above=split_above):
                    job = SplitJob(it)
                    fut = client.submit(task.plan_task, it.path, pure=False, retries=0)
                    meta[fut.key] = ("plan", job, replace)
                else:
                    fut = client.submit(task.scan_task, it.source, pure=False, retries=0)
                    meta[fut.key] = ("scan", it, replace)
                ac.add(fut)
                return True

            for _ in range(window or max(16, 4 * max(1, n_workers))):
                if not submit_next():
                    break

            def write(it: Item, replace, out: dict) -> None:
                row = {**_base_row(it, version), **out["row"]}
                tensors = out.get("tensors") or []
                if row.get("error"):
                    counts.failed += 1
                    bar.advance("failed")
                else:
                    dup = by_sha.get(row.get("sha256") or "")
                    if dup is not None and dup != replace:
                        row["duplicate_of"], tensors = dup, []
                        counts.duplicates += 1
                    counts.done += 1
                    bar.advance("done")
                cid = writer.insert_checkpoint(counts.run_id, row, tensors, replace=replace)
                if replace is not None:      # the replaced row is gone: copies now point to the new one
                    for sha in [k for k, v in by_sha.items() if v == replace]:
                        by_sha[sha] = cid
                if row.get("sha256") and not row.get("error"):
                    by_sha.setdefault(row["sha256"], cid)
                w = row.get("worker")
                if w and out.get("peak_rss"):
                    counts.peak_rss[w] = max(counts.peak_rss.get(w, 0), int(out["peak_rss"]))

            with counting(len(pending), "zoo scan", names=("done", "failed"), enabled=progress) as bar:
                if skipped:
                    bar.counts["skipped"] = skipped
                for fut in ac:
                    kind, obj, extra = meta.pop(fut.key)
                    res, err = _outcome(fut)
                    if kind == "scan":
                        write(obj, extra, res if err is None else {"row": {"error": _died(err, retries)}})
                        submit_next()
                    elif kind == "plan":
                        job: SplitJob = obj
                        if err is not None:
                            write(job.item, extra, {"row": {"error": _died(err, retries)}})
                            submit_next()
                            continue
                        job.replace = extra
                        for k, names in enumerate(job.set_plan(res, n_workers, slice_bytes)):
                            f2 = client.submit(task.slice_task, job.item.path, names, pure=False, retries=0)
                            meta[f2.key] = ("slice", job, k)
                            ac.add(f2)
                    else:
                        job = obj
                        if res is not None:
                            w = res["worker"]
                            counts.peak_rss[w] = max(counts.peak_rss.get(w, 0), int(res["peak_rss"]))
                        if job.failed:
                            continue
                        if err is not None:
                            job.failed = True
                            write(job.item, job.replace, {"row": {"error": _died(err, retries)}})
                            submit_next()
                        elif job.add(extra, res):
                            write(job.item, job.replace, job.assemble(task.judge_split, task.result_rows))
                            submit_next()
        counts.wall_s = time.perf_counter() - t_start
        writer.finish_run(counts.run_id, counts.to_dict(), counts.wall_s)
        return counts
    finally:
        writer.close()
