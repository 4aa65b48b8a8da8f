"""Zoo test fixtures: one real LocalCluster of worker processes for the zoo tests (per pytest process)."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def scheduler():
    """Address of a LocalCluster (2 worker processes, 1 thread each) shared by the zoo tests; workers warmed
    up (paramstat imported, numba kernels compiled) so tests time the work, not the imports."""
    import dask
    from distributed import Client, LocalCluster

    from paramstat.zoo.task import thread_env, warm

    env = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}) or {})
    env.update(thread_env(1))
    with dask.config.set({"distributed.scheduler.allowed-failures": 2,
                          "distributed.nanny.pre-spawn-environ": env,
                          "distributed.admin.tick.limit": "30s"}):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=50)
        client = Client(cluster)
        client.run(warm)
        try:
            yield cluster.scheduler_address
        finally:
            client.close()
            cluster.close()

