"""`paramstat.scan(source, ...)`: the API name of :func:`paramstat.verdict.scan` (the verdict stage lives in
paramstat/verdict/). This module stays callable, so ``import paramstat.scan`` does not shadow the function."""
from __future__ import annotations

from ._callable import make_module_callable
from .verdict import ScanResult, scan

__all__ = ["ScanResult", "scan"]

make_module_callable(__name__, "scan")
