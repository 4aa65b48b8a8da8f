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

Pair (pair_verdict), first rule that holds, over the voting tensors (running statistics follow the data,
not the optimizer: they vote only when nothing else is there):
  different architectures         more name-matched tensors differ in shape than match
  too little in common            the compared parameters are < MIN_COVERAGE = 1 % of the smaller checkpoint
  identical / bit-identical up to dtype cast   every tensor is (identical or cast)
  modified                        a partial edit: some tensors moved while informative tensors (A not
                                  constant) kept A's exact values (identical or cast), and those kept
                                  hold >= MODIFIED_KEPT_PARAMS = 50 % of the informative parameters or are
                                  >= MODIFIED_KEPT_TENSORS = 90 % of the informative tensors
  otherwise                       the label carrying the most parameters among the tensors that changed
The changed tensors' vote (pair_relation) is kept beside the first three labels as `relation_matched`
and in the detail line, so a partial edit still says how its changed tensors moved.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

IDENTICAL = "identical"
CAST = "bit-identical up to dtype cast"
FINE_TUNED = "fine-tuned"
RETRAINED = "retrained"
INDEPENDENT = "independent"
MODIFIED = "modified"
DIFFERENT_ARCH = "different architectures"
TOO_LITTLE = "too little in common"
RELATIONS = (IDENTICAL, CAST, FINE_TUNED, RETRAINED, INDEPENDENT, MODIFIED, DIFFERENT_ARCH, TOO_LITTLE)
CHANGED = (FINE_TUNED, RETRAINED, INDEPENDENT)

FINE_TUNED_MAX_REL = 0.2
INDEPENDENT_Z = 4.0
INDEPENDENT_MIN_CORR = 0.05
MIN_N_CORR = 64
MIN_COVERAGE = 0.01
MODIFIED_KEPT_PARAMS = 0.5
MODIFIED_KEPT_TENSORS = 0.9


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


@dataclass
class Voter:
    """One voting tensor of the pair: its label, size, and whether A's values say anything (A not constant)."""
    label: str | None
    numel: int
    informative: bool = True


@dataclass
class PairVerdict:
    relation: str | None     # the pair's label (RELATIONS), None when nothing matched
    vote: str | None         # what the changed tensors say (pair_relation): the label constant-side tensors take
    detail: str              # one line: why (counts, coverage)


def _pct(x: float) -> str:
    return f"{100 * x:.2g} %"


def pair_verdict(voters: list[Voter], *, n_pairs: int, n_shape_mismatch: int, params_compared: int,
                 params_smaller: int) -> PairVerdict:
    """The pair's label from the evidence actually compared (rules in the module doc).

    ``n_pairs``: matched tensors with equal shapes; ``n_shape_mismatch``: name matches whose shapes differ;
    ``params_compared``: parameters of the voting tensors; ``params_smaller``: the smaller checkpoint's
    parameter count (Checkpoint.n_params, running statistics excluded)."""
    vote = pair_relation([(v.label, v.numel) for v in voters])
    if n_shape_mismatch > n_pairs:
        return PairVerdict(DIFFERENT_ARCH, vote, f"{n_shape_mismatch} of {n_shape_mismatch + n_pairs} tensors "
                           "matched by name differ in shape" + _matched_says(vote, n_pairs, params_compared))
    cover = params_compared / params_smaller if params_smaller else 1.0
    if voters and cover < MIN_COVERAGE:
        return PairVerdict(TOO_LITTLE, vote, f"the matched tensors hold {params_compared:,} parameters, "
                           f"{_pct(cover)} of the smaller checkpoint" + _matched_says(vote, n_pairs, params_compared))
    if vote in (None, IDENTICAL, CAST):
        return PairVerdict(vote, vote, "")
    moved = [v for v in voters if v.label not in (IDENTICAL, CAST)]
    kept = [v for v in voters if v.informative and v.label in (IDENTICAL, CAST)]
    p_kept, p_all = sum(v.numel for v in kept), sum(v.numel for v in kept + moved)
    n_all = len(kept) + len(moved)
    if kept and (p_kept >= MODIFIED_KEPT_PARAMS * p_all or len(kept) >= MODIFIED_KEPT_TENSORS * n_all):
        cnt, par = Counter(v.label or vote for v in moved), Counter()
        for v in moved:
            par[v.label or vote] += v.numel
        how = ", ".join(f"{k} {cnt[k]}" for k in sorted(cnt, key=lambda k: (-cnt[k], -par[k])))
        return PairVerdict(MODIFIED, vote, f"{len(moved)} of {n_all} parameter tensors changed ({how}), "
                           f"{len(kept)} kept A's exact values ({_pct(p_kept / p_all)} of the parameters)")
    return PairVerdict(vote, vote, "")


def _matched_says(vote: str | None, n_pairs: int, params: int) -> str:
    if vote is None:
        return ""
    return f"; the {n_pairs} matched tensor(s) ({params:,} parameters) alone would say {vote}"
