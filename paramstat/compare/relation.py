"""Relation labels for one tensor pair and for a whole checkpoint pair.

Per tensor, first rule that holds (thresholds measured in docs/COMPARE.md):
  identical                       same dtype and every value equal (bits equal, or only -0/+0 differ)
  bit-identical up to dtype cast  B == cast(A) or A == cast(B) (round to nearest even), or one is the
                                  other after a round trip through bf16/fp16
  fine-tuned                      rel_change = ||B-A||/||A|| <= FINE_TUNED_MAX_REL = 0.2 (cosine >= ~0.98)
  independent                     |Pearson corr| < max(INDEPENDENT_Z / sqrt(n), INDEPENDENT_MIN_CORR):
                                  two independent zero-mean tensors have corr ~ N(0, 1/n)
  retrained                       everything else: far from A but still correlated with it
A tensor whose A or B is constant (zero-init bias, BN weight 1) has no correlation, and one with fewer
than MIN_N_CORR values cannot reject independence (4/sqrt(n) > 0.5): when such a tensor moved by more
than FINE_TUNED_MAX_REL it takes the pair's label (it cannot tell on its own).

Pair: `identical` when every matched float tensor is; `bit-identical up to dtype cast` when each is
identical or cast; otherwise the label carrying the most parameters among the tensors that changed.
Running statistics (BN running_mean/var) follow the data, not the optimizer: they get labels but vote
in the pair only when nothing else is there (core.compare).
"""
from __future__ import annotations

import math

IDENTICAL = "identical"
CAST = "bit-identical up to dtype cast"
FINE_TUNED = "fine-tuned"
RETRAINED = "retrained"
INDEPENDENT = "independent"
RELATIONS = (IDENTICAL, CAST, FINE_TUNED, RETRAINED, INDEPENDENT)
CHANGED = (FINE_TUNED, RETRAINED, INDEPENDENT)

FINE_TUNED_MAX_REL = 0.2
INDEPENDENT_Z = 4.0
INDEPENDENT_MIN_CORR = 0.05
MIN_N_CORR = 64


def independence_threshold(n: int) -> float:
    return max(INDEPENDENT_Z / math.sqrt(max(n, 1)), INDEPENDENT_MIN_CORR)


def tensor_relation(*, identical: bool, cast: str | None, rel_change: float, corr: float, n: int) -> str | None:
    """The label for one tensor pair, or None when it must take the pair's label (constant side moved)."""
    if identical:
        return IDENTICAL
    if cast:
        return CAST
    if rel_change <= FINE_TUNED_MAX_REL:
        return FINE_TUNED
    if corr is None or math.isnan(corr) or n < MIN_N_CORR:
        return None
    if abs(corr) < independence_threshold(n):
        return INDEPENDENT
    return RETRAINED


def pair_relation(labels_and_sizes: list[tuple[str | None, int]]) -> str | None:
    """Aggregate per-tensor labels (label, numel); a None label = a constant tensor that moved.
    Returns None when nothing matched."""
    if not labels_and_sizes:
        return None
    labels = [lab for lab, _ in labels_and_sizes]
    if all(lab == IDENTICAL for lab in labels):
        return IDENTICAL
    if all(lab in (IDENTICAL, CAST) for lab in labels):
        return CAST
    weight = {lab: 0 for lab in CHANGED}
    for lab, n in labels_and_sizes:
        if lab in weight:
            weight[lab] += n
    if not any(weight.values()):  # only constant-initialized tensors moved: no correlation to judge by
        return RETRAINED
    order = {lab: i for i, lab in enumerate(CHANGED)}
    return max(weight, key=lambda lab: (weight[lab], -order[lab]))
