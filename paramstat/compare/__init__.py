"""paramstat compare: what changed between two checkpoints, layer by layer (see docs/COMPARE.md).

    compare(a, b, ...) -> CompareResult(relation, tensors=[TensorDiff], only_in_a, only_in_b,
                                        shape_mismatch, unchanged_while_others_moved, ...)
Modules: align (match names, prefixes, position and shape), kernel (one fused exact pass per pair), casts (dtype-cast identity),
metrics (moments, KS/W1, robust stats, fits/spectra on caps), relation (labels and thresholds), core.
"""
from __future__ import annotations

from .core import CompareOptions, CompareResult, TensorDiff, compare
from .relation import (
    CAST,
    DIFFERENT_ARCH,
    FINE_TUNED,
    IDENTICAL,
    INDEPENDENT,
    MODIFIED,
    RELATIONS,
    RETRAINED,
    TOO_LITTLE,
)

__all__ = ["compare", "CompareResult", "CompareOptions", "TensorDiff", "RELATIONS", "IDENTICAL", "CAST",
           "FINE_TUNED", "RETRAINED", "INDEPENDENT", "MODIFIED", "DIFFERENT_ARCH", "TOO_LITTLE"]


from .._callable import make_module_callable  # noqa: E402

make_module_callable(__name__, "compare")
