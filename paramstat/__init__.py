"""paramstat: what a neural-network checkpoint is, from its weights alone.

Public API (lazy imports keep `import paramstat` and `paramstat --help` fast):
    paramstat.load(source, ...)        -> Checkpoint           (sources/)
    paramstat.scan(source, ...)        -> ScanResult            (verdict/)
    paramstat.compare(a, b, ...)       -> CompareResult         (compare.py)
"""
from __future__ import annotations

__version__ = "0.1.0"

_LAZY = {
    "load": ("paramstat.sources", "load"),
    "scan": ("paramstat.verdict", "scan"),
    "compare": ("paramstat.compare", "compare"),
    "Checkpoint": ("paramstat.record", "Checkpoint"),
    "TensorRecord": ("paramstat.record", "TensorRecord"),
    "ParamstatError": ("paramstat.errors", "ParamstatError"),
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        mod, attr = _LAZY[name]
        return getattr(importlib.import_module(mod), attr)
    raise AttributeError(f"module 'paramstat' has no attribute {name!r}")


__all__ = ["__version__", *_LAZY]
