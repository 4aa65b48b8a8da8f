"""Zoo scale: scan and compare many checkpoints on Dask distributed, results in DuckDB (docs/ZOO.md).

    paramstat.zoo.scan_zoo(sources, db, workers=N | scheduler="tcp://HOST:PORT") -> RunCounts
    paramstat.zoo.compare_zoo(base, sources, db, ...)                              -> RunCounts
    paramstat.zoo.open_db(db).checkpoints() / .tensors() / .comparisons() / .query(sql)  -> DataFrames

Modules: discover (SOURCES -> checkpoints), task (what a worker runs), cluster (LocalCluster / scheduler),
store (DuckDB schema, writer, reader), split (one checkpoint across workers), run (the scan driver),
compare (against one base), summary (tables). dask and duckdb are imported only when used.
"""
from __future__ import annotations

_LAZY = {
    "scan_zoo": ("paramstat.zoo.run", "scan_zoo"),
    "compare_zoo": ("paramstat.zoo.compare", "compare_zoo"),
    "open_db": ("paramstat.zoo.store", "open_db"),
    "discover": ("paramstat.zoo.discover", "discover"),
    "SCHEMA_VERSION": ("paramstat.zoo.store", "SCHEMA_VERSION"),
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        mod, attr = _LAZY[name]
        return getattr(importlib.import_module(mod), attr)
    raise AttributeError(f"module 'paramstat.zoo' has no attribute {name!r}")


__all__ = list(_LAZY)
