"""Match the tensors of two checkpoints: by name, then (optionally) by position and shape.

1. Canonical names (sources already drop wrapper prefixes such as 'module.').
2. Names left over on both sides: one leading prefix present on one side only ('backbone.', 'model.',
   'encoder.'...) is removed when that matches more names.
3. Still left over on both sides: a prefix of A's names replaced by a prefix of B's names
   (TorchScript '_model.x' = ONNX 'If_0_then_branch__Inline_0__x'). A candidate (pa, pb) comes from the
   longest common tail (at a '.'/'_' boundary, holding at least one '.') of an A and a B name; it is taken
   when at least 2 tails match, they cover at least half the names under pa and under pb, every matched
   tail has the same shape on both sides, and neither pa nor pb has another partner that passes these
   tests (two 8 kHz / 16 kHz copies of one net are told apart by the tensors whose shapes differ).
4. Unless ``by_name``: when the tensors still left over on both sides have the same count and the same
   shapes in order (float tensors only, if integer buffers such as num_batches_tracked are what differs),
   they are paired by position: the test the loaders use for foreign key names
   (``paramstat.sources.align.same_shapes_in_order``).
Name matches with different shapes are listed, never paired. Pair order: A's (network order).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ..record import Checkpoint, TensorRecord

MIN_SWAP_TENSORS = 2


@dataclass
class Alignment:
    pairs: list[tuple[TensorRecord, TensorRecord]]          # matched, same shape
    only_in_a: list[str]
    only_in_b: list[str]
    shape_mismatch: list[dict]                              # {name, shape_a, shape_b}
    prefix_removed: dict = field(default_factory=dict)      # {'a': 'backbone.'} when one was dropped
    prefix_swapped: list[dict] = field(default_factory=list)  # [{'a': '_model.', 'b': 'If_0_..._', 'tensors': 15}]
    by_position: int = 0                                    # pairs matched by position and shape


def _prefixes(names: list[str]) -> Counter:
    c: Counter = Counter()
    for n in names:
        parts = n.split(".")
        for k in (1, 2):
            if len(parts) > k:
                c[".".join(parts[:k]) + "."] += 1
    return c


def _best_prefix(src: list[str], dst: set[str]) -> tuple[str | None, int]:
    best, best_hits = None, 0
    for p, cnt in _prefixes(src).most_common(20):
        hits = sum(1 for n in src if n.startswith(p) and n[len(p):] in dst)
        if hits > best_hits and hits * 2 >= cnt:
            best, best_hits = p, hits
    return best, best_hits


def _tails(name: str) -> list[int]:
    """Start positions of the name's tails that can follow a prefix, longest first: the whole name and
    every tail after a '.' or '_' that holds a '.' and does not start with a separator."""
    return [i for i in range(len(name)) if (i == 0 or name[i - 1] in "._") and name[i] not in "._"
            and "." in name[i:]]


def _swap_prefixes(left_a: list[TensorRecord], left_b: list[TensorRecord]) -> list[tuple[str, str, list]]:
    """Step 3 of the module doc: [(pa, pb, [(ra, rb), ...])], largest first."""
    from ..sources.align import same_shapes_in_order

    index: dict[str, list[str]] = {}
    for r in left_b:
        for i in _tails(r.name):
            index.setdefault(r.name[i:], []).append(r.name[:i])
    cands: set[tuple[str, str]] = set()
    for r in left_a:
        for i in _tails(r.name):
            hits = index.get(r.name[i:])
            if hits:
                cands.update((r.name[:i], pb) for pb in hits)
                break
    if not cands:
        return []
    ok: list[tuple[str, str, list]] = []
    for pa, pb in cands:
        if pa == pb:
            continue
        ta = {r.name[len(pa):]: r for r in left_a if r.name.startswith(pa)}
        tb = {r.name[len(pb):]: r for r in left_b if r.name.startswith(pb)}
        common = [t for t in ta if t in tb]
        if len(common) < MIN_SWAP_TENSORS or 2 * len(common) < max(len(ta), len(tb)):
            continue
        if same_shapes_in_order([ta[t].shape for t in common], [tb[t].shape for t in common]):
            ok.append((pa, pb, [(ta[t], tb[t]) for t in common]))
    na = Counter(pa for pa, _, _ in ok)
    nb = Counter(pb for _, pb, _ in ok)
    unique = [x for x in ok if na[x[0]] == 1 and nb[x[1]] == 1]
    unique.sort(key=lambda x: (-len(x[2]), x[0], x[1]))
    out, used_a, used_b = [], set(), set()
    for pa, pb, prs in unique:
        prs = [(x, y) for x, y in prs if x.name not in used_a and y.name not in used_b]
        if len(prs) >= MIN_SWAP_TENSORS:
            used_a.update(x.name for x, _ in prs)
            used_b.update(y.name for _, y in prs)
            out.append((pa, pb, prs))
    return out


def _by_position(left_a: list[TensorRecord], left_b: list[TensorRecord]) -> list[tuple[TensorRecord, TensorRecord]]:
    """Step 4 of the module doc: all left-over tensors, else the float ones, when shapes agree in order."""
    from ..sources.align import same_shapes_in_order

    for xs, ys in ((left_a, left_b), ([r for r in left_a if r.analysable], [r for r in left_b if r.analysable])):
        if xs and same_shapes_in_order([r.shape for r in xs], [r.shape for r in ys]):
            return list(zip(xs, ys))
    return []


def align(a: Checkpoint, b: Checkpoint, by_name: bool = False) -> Alignment:
    name_a = {r.name: r for r in a.records}
    name_b = {r.name: r for r in b.records}
    key_a = {r.name: r.name for r in a.records}   # canonical name -> matching key
    key_b = {r.name: r.name for r in b.records}
    prefix_removed: dict = {}
    left_a = [n for n in name_a if n not in name_b]
    left_b = [n for n in name_b if n not in name_a]
    if left_a and left_b:
        pa, ha = _best_prefix(left_a, set(left_b))
        pb, hb = _best_prefix(left_b, set(left_a))
        if pa and ha >= hb:
            prefix_removed["a"] = pa
            for n in left_a:
                if n.startswith(pa) and n[len(pa):] in name_b and n[len(pa):] not in name_a:
                    key_a[n] = n[len(pa):]
        elif pb:
            prefix_removed["b"] = pb
            for n in left_b:
                if n.startswith(pb) and n[len(pb):] in name_a and n[len(pb):] not in name_b:
                    key_b[n] = n[len(pb):]
    by_key_b = {key_b[n]: r for n, r in name_b.items()}
    matched: dict[str, TensorRecord] = {}
    mismatch, only_a = [], []
    used_b: set[str] = set()
    for n, ra in name_a.items():
        rb = by_key_b.get(key_a[n])
        if rb is None:
            only_a.append(n)
            continue
        used_b.add(rb.name)
        if tuple(ra.shape) != tuple(rb.shape):
            mismatch.append({"name": n, "shape_a": list(ra.shape), "shape_b": list(rb.shape)})
        else:
            matched[n] = rb
    only_b = [n for n in name_b if n not in used_b]
    swapped: list[dict] = []
    n_pos = 0

    def left() -> tuple[list[str], list[str]]:   # names still unmatched on each side
        used = {r.name for r in matched.values()}
        return [n for n in only_a if n not in matched], [n for n in only_b if n not in used]

    if only_a and only_b:
        for pa, pb, prs in _swap_prefixes([name_a[n] for n in only_a], [name_b[n] for n in only_b]):
            swapped.append({"a": pa, "b": pb, "tensors": len(prs)})
            matched.update((x.name, y) for x, y in prs)
        only_a, only_b = left()
    if only_a and only_b and not by_name:
        prs = _by_position([name_a[n] for n in only_a], [name_b[n] for n in only_b])
        matched.update((x.name, y) for x, y in prs)
        n_pos = len(prs)
        only_a, only_b = left()
    pairs = [(ra, matched[n]) for n, ra in name_a.items() if n in matched]
    return Alignment(pairs, only_a, only_b, mismatch, prefix_removed, swapped, n_pos)
