"""Match the tensors of two checkpoints by name.

Names are the records' canonical names (sources already drop wrapper prefixes such as 'module.').
When exact matching leaves names over on both sides, one leading prefix present on one side only
('backbone.', 'model.', 'encoder.'...) is removed when that matches more names. Order: A's (network order).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ..record import Checkpoint, TensorRecord


@dataclass
class Alignment:
    pairs: list[tuple[TensorRecord, TensorRecord]]          # same name, same shape
    only_in_a: list[str]
    only_in_b: list[str]
    shape_mismatch: list[dict]                              # {name, shape_a, shape_b}
    prefix_removed: dict = field(default_factory=dict)      # {'a': 'backbone.'} when one was dropped


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


def align(a: Checkpoint, b: Checkpoint) -> Alignment:
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
    pairs, mismatch, only_a = [], [], []
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
            pairs.append((ra, rb))
    only_b = [n for n in name_b if n not in used_b]
    return Alignment(pairs, only_a, only_b, mismatch, prefix_removed)
