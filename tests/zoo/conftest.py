"""Zoo test fixtures: one real LocalCluster of worker processes for the zoo tests (per pytest process)."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def scheduler():
    """Address of a LocalCluster (2 worker processes, 1 thread each) shared by the zoo tests; workers warmed
    up (paramstat imported, numba kernels compiled) so tests time the work, not the imports."""
    import dask
    from distributed import Client, LocalCluster

    from paramstat.zoo.cluster import worker_config
    from paramstat.zoo.task import warm

    with dask.config.set(worker_config(retries=2)):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=50)
        client = Client(cluster)
        client.run(warm)
        try:
            yield cluster.scheduler_address
        finally:
            client.close()
            cluster.close()

