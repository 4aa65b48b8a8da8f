"""paramstat compare: what changed between two checkpoints, layer by layer (see docs/COMPARE.md).

    compare(a, b, ...) -> CompareResult(relation, tensors=[TensorDiff], only_in_a, only_in_b,
                                        shape_mismatch, unchanged_while_others_moved, ...)
Modules: align (match names), kernel (one fused exact pass per pair), casts (dtype-cast identity),
metrics (moments, KS/W1, robust stats, fits/spectra on caps), relation (labels and thresholds), core.
"""
from __future__ import annotations

from .core import CompareOptions, CompareResult, TensorDiff, compare
from .relation import CAST, FINE_TUNED, IDENTICAL, INDEPENDENT, RELATIONS, RETRAINED

__all__ = ["compare", "CompareResult", "CompareOptions", "TensorDiff", "RELATIONS", "IDENTICAL", "CAST",
           "FINE_TUNED", "RETRAINED", "INDEPENDENT"]


# `paramstat.compare` is both this package (after `import paramstat.compare...`, Python binds the
# subpackage to the package attribute) and the API function: make the module callable so that
# `paramstat.compare(a, b)` keeps working after the first call (same fix as paramstat.scan).
class _CallableModule(__import__("types").ModuleType):
    def __call__(self, *args, **kwargs) -> CompareResult:
        return compare(*args, **kwargs)


__import__("sys").modules[__name__].__class__ = _CallableModule
