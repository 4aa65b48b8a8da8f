"""The streaming ``scan()`` loop: a checkpoint tensor by tensor through the verdict model.

Flow: ``paramstat.sources.load`` (lazy records) -> for each record: read -> ``judge_tensor(record, raw)``
-> drop the array -> ``judge_checkpoint`` -> :class:`ScanResult`. Peak memory stays near the largest
tensor.
"""
from __future__ import annotations

import time

import numpy as np

from ..errors import ParamstatError
from ..record import TensorRecord
from .checkpoint import judge_checkpoint
from .layer_types import layer_types
from .results import Evidence, ScanResult, TensorVerdict, flatten_stats
from .rules import judge_tensor


def scan(source, *, fresh=False, seed=0, model=None, checkpoint=None, trust_pickle=False, h5=None,
         force=False, progress=True, keep_bits=False, hash=True) -> ScanResult:
    """Judge every tensor of ``source`` and the checkpoint as a whole.

    ``h5``: also write the weights with every statistic beside them (paramstat.store.write_h5, one pass).
    ``keep_bits``: keep per-bit runs Z per tensor (for the heatmap plot) even when the verdict's stats
    carry only the group summary.
    ``hash``: the provenance sha256 of a file; a safetensors file is hashed by the same sequential reads
    that feed the analysis (tensors read in byte order, results in network order: sources/onepass.py),
    other files as their reader does. ``hash=False``: sha256 None.
    """
    t_start = time.perf_counter()
    from ..sources import load

    if source is None and checkpoint is None:
        raise ParamstatError("no source given", hint="pass a timm model name, a checkpoint file or a folder")
    ckpt = load(source, fresh=fresh, seed=seed, model=model, checkpoint=checkpoint, trust_pickle=trust_pickle,
                hash="deferred" if hash else False)
    t_open = time.perf_counter() - t_start
    if len(ckpt) == 0:
        raise ParamstatError("checkpoint has no tensors", path=str(ckpt.source),
                             hint="check that the file holds a state_dict")
    clock = {"read": 0.0, "analysis": 0.0, "analysis_cpu": 0.0}
    tensors: list = []
    bit_z: dict[str, np.ndarray] = {}

    warnings = list(ckpt.warnings)

    def judge(rec: TensorRecord, raw: np.ndarray):
        t0, c0 = time.perf_counter(), time.process_time()
        tv, warning = judge_or_skip(rec, raw)
        if warning:
            warnings.append(warning)
        if keep_bits and rec.analysable:
            z = _per_bit_z(tv, raw, rec.dtype)
            if z is not None:
                bit_z[rec.name] = z
        clock["analysis"] += time.perf_counter() - t0
        clock["analysis_cpu"] += time.process_time() - c0
        tensors.append(tv)
        return tv

    if h5 is not None:
        from ..store import write_h5

        def per_tensor(rec, raw):
            return flatten_stats(_h5_stats(judge(rec, raw)))

        t0 = time.perf_counter()
        write_h5(ckpt, h5, force=force, per_tensor=per_tensor, progress=progress)
        clock["h5"] = time.perf_counter() - t0 - clock["analysis"]   # reading + writing the .h5
    else:
        from ..progress import track

        for rec in track(ckpt.in_byte_order(), total=len(ckpt), description="scanning", enabled=progress):
            t0 = time.perf_counter()
            raw = rec.read(widen=True)  # bf16: the values' float32 array, its bits a view of it
            clock["read"] += time.perf_counter() - t0
            judge(rec, raw)
            del raw
        if ckpt.byte_order is not None:  # results in network order
            pos = {r.name: i for i, r in enumerate(ckpt.records)}
            tensors.sort(key=lambda tv: pos[tv.name])
            bit_z = {k: bit_z[k] for k in sorted(bit_z, key=pos.__getitem__)}
    t0 = time.perf_counter()
    ckpt.finish_provenance()  # sha256 of the one pass: what the reads did not cover (the tail), else nothing
    clock["read"] += time.perf_counter() - t0
    warnings += nonfinite_warnings(tensors)
    t0 = time.perf_counter()
    verdict, score, untrained = judge_checkpoint(tensors)
    clock["analysis"] += time.perf_counter() - t0
    timings = {"load": t_open + clock["read"], "open": t_open, "read": clock["read"],
               "analysis": clock["analysis"], "analysis_cpu": clock["analysis_cpu"],
               "total": time.perf_counter() - t_start}
    if "h5" in clock:
        timings["h5"] = clock["h5"]
    return ScanResult(
        source=str(ckpt.source), format=ckpt.format, verdict=verdict, score=float(score),
        n_params=int(ckpt.n_params), tensors=tensors, untrained=list(untrained),
        provenance=dict(ckpt.provenance), warnings=warnings, timings=timings,
        layer_types=layer_types(ckpt.records), bit_z=bit_z, checkpoint=ckpt)


def judge_or_skip(rec: TensorRecord, raw) -> tuple:
    """(judge_tensor(rec, raw), None), or, when the tensor cannot be judged, a 'skipped' TensorVerdict whose
    evidence holds the error and the warning line: one odd tensor never sinks a scan (nor a split zoo task)."""
    try:
        return judge_tensor(rec, raw), None
    except Exception as err:  # noqa: BLE001 - reported in the result, not raised
        why = f"{type(err).__name__}: {err}"
        return _unjudged(rec, f"analysis failed: {why}"), f"{rec.name}: not analysed ({why})"


def _unjudged(rec: TensorRecord, why: str):
    """A 'skipped' TensorVerdict for a tensor the verdict model could not handle."""
    return TensorVerdict(name=rec.name, stored_name=rec.stored_name, role=rec.role, shape=tuple(rec.shape),
                         dtype=rec.dtype, depth=rec.depth, numel=rec.numel, verdict="skipped", score=None,
                         evidence=[Evidence("error", float("nan"), 0.0, why)], stats={})


def _h5_stats(tv) -> dict:
    d = {"verdict": tv.verdict, "score": tv.score, "stats": tv.stats or {}}
    for e in tv.evidence:
        d[f"evidence.{e.feature}"] = {"value": e.value, "contribution": e.contribution}
    return d


def _per_bit_z(tv, raw, dtype) -> np.ndarray | None:
    """Per-bit runs Z (index = bit, NaN where constant) from the verdict stats, else computed here."""
    bits = (tv.stats or {}).get("bits") or {}
    z = bits.get("runs_z") if isinstance(bits, dict) else None
    if z is not None:
        return np.asarray([np.nan if x is None else x for x in z], dtype=float)
    from ..stats.bits import bit_tests

    bt = bit_tests(raw, dtype)
    z = np.asarray(bt.runs_z, dtype=float).copy()
    z[np.asarray(bt.constant, dtype=bool)] = np.nan
    return z


def nonfinite_warnings(tensors) -> list[str]:
    """Checkpoint-level warnings for NaN/Inf values: tensors that hold nothing else (a diverged or corrupted
    checkpoint: the verdict rests on the other tensors) and tensors that hold some."""
    full, part = [], []
    for tv in tensors:
        k = (tv.stats or {}).get("nonfinite", 0)
        if k:
            (full if k >= tv.numel else part).append(tv)

    def names(tvs):
        return ", ".join(tv.name for tv in tvs[:5]) + (f" and {len(tvs) - 5} more" if len(tvs) > 5 else "")
    out = []
    if full:
        out.append(f"{len(full)} tensor(s) entirely NaN/Inf ({names(full)}): the checkpoint diverged or is "
                   "corrupt; the verdict rests on the other tensors")
    if part:
        n = sum(tv.stats["nonfinite"] for tv in part)
        out.append(f"{n:,} NaN/Inf values in {len(part)} tensor(s) ({names(part)}): scored on the finite values")
    return out
