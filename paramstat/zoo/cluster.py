"""The Dask cluster a zoo run uses: an embedded ``LocalCluster`` of worker processes (default), or an
existing scheduler (``--scheduler tcp://HOST:PORT``; see docs/ZOO.md for ``dask scheduler`` /
``dask worker``, dask-jobqueue and dask-kubernetes).

Local workers: ``processes=True``, one thread each, and OMP/MKL/OpenBLAS/numba/... thread counts set to 1
before each worker process starts (``distributed.nanny.pre-spawn-environ``), so N workers use N cores and
BLAS or numba inside a task do not oversubscribe them. A task whose worker dies is rerun elsewhere up to
``retries`` times (the scheduler's ``distributed.scheduler.allowed-failures``), then reported as failed.
"""
from __future__ import annotations

import contextlib
import os

from ..errors import ParamstatError
from .task import thread_env


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def worker_config(retries: int = 2) -> dict:
    """The dask config for the workers paramstat starts: BLAS / OpenMP / numba at one thread each
    (task.thread_env), ``retries`` failures allowed per task, and no MALLOC_TRIM_THRESHOLD_. distributed
    sets that to 65536 for its workers; any fixed value turns off glibc's dynamic mmap threshold, and a scan
    (one large array after another) then maps and unmaps every buffer: 60 small checkpoints took 4.3-4.6 s
    in a worker instead of 2.7 s (docs/ZOO.md)."""
    import dask
    import distributed  # noqa: F401 - loads distributed's config defaults

    env = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}) or {})
    env.update(thread_env(1))
    env.pop("MALLOC_TRIM_THRESHOLD_", None)
    return {"distributed.scheduler.allowed-failures": int(retries),
            "distributed.nanny.pre-spawn-environ": env,
            "distributed.admin.tick.limit": "30s"}   # a busy GIL-heavy task must not spam 'event loop' warnings


@contextlib.contextmanager
def open_client(workers: int | None = None, scheduler: str | None = None, retries: int = 2,
                memory_limit: str | None = "auto"):
    """Yield a ``distributed.Client`` (and close what was started here on exit)."""
    import dask
    from distributed import Client, LocalCluster

    cfg = worker_config(retries)
    with dask.config.set(cfg):
        if scheduler:
            try:
                client = Client(scheduler, timeout="20s")
            except (OSError, TimeoutError) as err:
                raise ParamstatError(f"cannot reach the Dask scheduler ({type(err).__name__})", path=scheduler,
                                     hint="start one with `dask scheduler` and `dask worker ADDRESS`, "
                                          "or drop --scheduler for a local cluster") from None
            try:
                yield client
            finally:
                client.close()
            return
        n = int(workers or default_workers())
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                               memory_limit=memory_limit, silence_logs=50)
        client = Client(cluster)
        try:
            yield client
        finally:
            client.close()
            cluster.close()


def describe(client) -> tuple[str, int]:
    """(scheduler address, number of workers) of a client's cluster."""
    info = client.scheduler_info(n_workers=-1) if _takes_n_workers(client) else client.scheduler_info()
    return str(client.scheduler.address), len(info.get("workers", {}))


def _takes_n_workers(client) -> bool:
    import inspect

    try:
        return "n_workers" in inspect.signature(client.scheduler_info).parameters
    except (TypeError, ValueError):
        return False
