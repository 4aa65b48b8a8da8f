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


from .._callable import make_module_callable  # noqa: E402

make_module_callable(__name__, "compare")
