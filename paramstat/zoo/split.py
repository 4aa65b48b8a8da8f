"""Split mode: one large safetensors checkpoint (or sharded set) analysed by many workers.

Above ``split_above`` bytes (or with ``--split``), a safetensors file or ``*.index.json`` is planned by one
task (the tensor names and sizes, from the header), cut into contiguous slices of records of about equal
size, and each slice judged by its own task: the worker opens the file itself and reads only the byte ranges
of its slice's tensors, one at a time (``paramstat.sources.load`` + ``record.read()``), so its peak memory is
near the largest tensor it holds. The client collects the per-tensor verdicts in record order and judges the
checkpoint with ``judge_checkpoint``, exactly as ``paramstat.scan`` does in one process.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from .discover import Item

SPLIT_ABOVE = 2 << 30            # bytes: checkpoints from 2 GiB up are split by default
SLICE_BYTES = 256 << 20          # aim for slices of about this many bytes (and >= 2 per worker)


def splittable(item: Item) -> bool:
    """A safetensors file or a sharded set (the readers with byte-range access)."""
    p = (item.path or "").lower()
    return item.kind in ("file", "index") and (p.endswith(".safetensors") or p.endswith(".index.json"))


def should_split(item: Item, *, force: bool, split_above: int = SPLIT_ABOVE) -> bool:
    return splittable(item) and (force or (item.size or 0) >= split_above)


def plan_slices(numel: list[int], n_slices: int) -> list[list[int]]:
    """Contiguous groups of record indices with about equal total size (greedy on the running sum: a new
    group starts once the running sum passes the next multiple of total / n_slices)."""
    n_slices = max(1, min(n_slices, len(numel)))
    total = float(sum(numel)) or 1.0
    out: list[list[int]] = [[]]
    acc = 0.0
    for i, n in enumerate(numel):
        if out[-1] and acc >= total * len(out) / n_slices and len(out) < n_slices:
            out.append([])
        out[-1].append(i)
        acc += n
    return [g for g in out if g]


def n_slices_for(size_bytes: int, n_workers: int, slice_bytes: int = SLICE_BYTES) -> int:
    return max(2 * max(1, n_workers), math.ceil(size_bytes / slice_bytes))


@dataclass
class SplitJob:
    """The client's state for one split checkpoint: its plan, and the slice results as they arrive."""
    item: Item
    started: float = field(default_factory=time.perf_counter)
    plan: dict | None = None
    slices: list[list[int]] = field(default_factory=list)
    results: dict[int, dict] = field(default_factory=dict)
    replace: int | None = None   # id of the DB row this result replaces
    failed: bool = False         # a slice's worker died: the checkpoint got an error row

    def set_plan(self, plan: dict, n_workers: int, slice_bytes: int = SLICE_BYTES) -> list[list[str]]:
        """Store the plan; return the tensor names of each slice task to submit."""
        self.plan = plan
        self.slices = plan_slices(plan["numel"], n_slices_for(self.item.size or 0, n_workers, slice_bytes))
        return [[plan["names"][i] for i in s] for s in self.slices]

    def add(self, k: int, result: dict) -> bool:
        """Record slice ``k``; True once every slice is in."""
        self.results[k] = result
        return len(self.results) == len(self.slices)

    def assemble(self, judge, result_rows) -> dict:
        """``{'row', 'tensors'}`` like task.scan_task's, judged with ``judge`` (judge_checkpoint)."""
        tensors, warnings = [], list(self.plan.get("warnings") or [])
        t_read = t_an = 0.0
        peak = 0
        for k in range(len(self.slices)):
            r = self.results[k]
            tensors += r["tensors"]
            warnings += r["warnings"]
            t_read += r["t_read"]
            t_an += r["t_analysis"]
            peak = max(peak, r.get("peak_rss", 0))
        t0 = time.perf_counter()
        verdict, score, untrained = judge(tensors)
        t_an += time.perf_counter() - t0
        wall = time.perf_counter() - self.started
        out = result_rows(verdict, score, untrained, tensors, fmt=self.plan["format"],
                          n_params=self.plan["n_params"], prov=self.plan["provenance"], warnings=warnings,
                          timings={"load": t_read, "analysis": t_an, "total": wall})
        out["row"].update(t_task=wall, worker=self.plan.get("worker"), split_tasks=len(self.slices))
        out["peak_rss"] = peak
        return out
