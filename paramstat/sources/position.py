"""Match tensors saved under foreign key names by position and shape.

Two implementations of one network (lukemelas' EfficientNet vs timm's, a TorchScript export vs an ONNX
export) store the same tensors in the same order under other names. When two ordered tensor lists have
the same length and the same shape at every position, the i-th of one is taken for the i-th of the
other. Used by the loaders (``model=``: roles from the architecture) and by ``paramstat compare``.
"""
from __future__ import annotations

from collections.abc import Sequence


def same_shapes_in_order(shapes_a: Sequence[Sequence[int]], shapes_b: Sequence[Sequence[int]]) -> bool:
    """True when both lists hold the same number of tensors with equal shapes position by position."""
    return len(shapes_a) == len(shapes_b) and all(tuple(x) == tuple(y) for x, y in zip(shapes_a, shapes_b))
