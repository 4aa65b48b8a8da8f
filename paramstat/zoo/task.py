"""What runs on a Dask worker, and the one place the zoo touches paramstat's analysis API.

Only the source string travels to a worker; the worker opens the checkpoint itself and sends back plain
rows (dicts of numbers and strings, ~10 kB per 100 tensors), never weights. Every error a checkpoint can
cause is caught here and becomes an error row (its one-line message), so a task only fails when its worker
process dies (Dask then reruns it elsewhere, a bounded number of times).

Stable API used (kept by the package restructure): ``paramstat.scan``, ``paramstat.compare``,
``paramstat.sources.load``, ``paramstat.verdict.judge_tensor`` / ``judge_checkpoint``.
"""
from __future__ import annotations

import functools
import hashlib
import os
import socket
import time

THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
MAX_ERROR = 400


def thread_env(threads: int = 1) -> dict[str, str]:
    """Environment for worker processes so BLAS / OpenMP / numba use ``threads`` threads each."""
    return {k: str(threads) for k in THREAD_VARS}


@functools.lru_cache(maxsize=1)
def _limit_threads() -> None:
    """Once per worker process: cap BLAS/OpenMP pools at the worker's env setting (a cluster started by
    the user may lack the env vars) and torch's intra-op threads likewise."""
    n = int(os.environ.get("OMP_NUM_THREADS", "1") or 1)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(n)
    except Exception:  # noqa: BLE001 - best effort
        pass
    try:
        import torch

        torch.set_num_threads(n)
    except Exception:  # noqa: BLE001
        pass


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def one_line(err: BaseException) -> str:
    """The user-facing one-line message of an error (ParamstatError's text, else 'Type: message')."""
    from ..errors import ParamstatError

    msg = str(err) if isinstance(err, ParamstatError) else f"{type(err).__name__}: {err}"
    msg = " ".join(msg.split())
    return msg[:MAX_ERROR] + ("…" if len(msg) > MAX_ERROR else "")


def checkpoint_sha256(prov: dict) -> str | None:
    """The file's sha256; for a sharded set, sha256 of the sorted 'shard:sha256' lines."""
    if prov.get("sha256"):
        return prov["sha256"]
    shards = prov.get("shards")
    if isinstance(shards, dict) and shards:
        text = "\n".join(f"{k}:{v}" for k, v in sorted(shards.items()))
        return hashlib.sha256(text.encode()).hexdigest()
    return None


def _num(x):
    try:
        return None if x is None else float(x)
    except (TypeError, ValueError):
        return None


def tensor_row(idx: int, t) -> dict:
    """A ``tensors`` row from a TensorVerdict: identity, verdict, top evidence and the main statistics."""
    st = t.stats or {}
    mom = st.get("moments") or {}
    sig = st.get("signature") or {}
    bits = st.get("bits") or {}
    spec = st.get("spectral") or {}
    ev = [{"feature": e.feature, "value": _num(e.value), "contribution": _num(e.contribution), "text": e.text}
          for e in (t.evidence or [])[:3]]
    return {
        "idx": idx, "name": t.name, "role": t.role, "shape": [int(s) for s in t.shape], "dtype": t.dtype,
        "numel": int(t.numel), "depth": t.depth, "verdict": t.verdict, "score": _num(t.score),
        "top_evidence": t.evidence[0].text if t.evidence else None, "evidence": ev,
        "mean": _num(mom.get("mean")), "std": _num(mom.get("std")), "kurt": _num(mom.get("kurt")),
        "robust_kurt": _num(mom.get("robust_kurt")), "runs_z": _num((st.get("runs") or {}).get("z")),
        "init_signature": sig.get("best"), "signature_ks_d": _num(sig.get("ks_d")),
        "bits_max_abs_z": _num(bits.get("max_abs_z")) if isinstance(bits, dict) else None,
        "n_spikes": spec.get("n_spikes") if isinstance(spec, dict) else None,
        "top_over_edge": _num(spec.get("top_over_edge")) if isinstance(spec, dict) else None,
        "features": {k: _num(v) for k, v in (getattr(t, "features", None) or {}).items()},
    }


def counts(tensors) -> dict:
    c = {"n_trained": 0, "n_untrained": 0, "n_undetermined": 0, "n_skipped": 0}
    for t in tensors:
        key = f"n_{t.verdict}"
        if key in c:
            c[key] += 1
    return c


def result_rows(verdict, score, untrained, tensors, *, fmt, n_params, prov, warnings, timings) -> dict:
    """The ``checkpoints`` row (without the client's fields) and the ``tensors`` rows."""
    row = {"sha256": checkpoint_sha256(prov), "format": fmt, "architecture": prov.get("arch"),
           "verdict": verdict, "score": _num(score), "n_tensors": len(tensors), "n_params": int(n_params),
           "never_trained": list(untrained), "warnings": [str(w) for w in warnings][:50],
           "t_load": _num(timings.get("load")), "t_analysis": _num(timings.get("analysis")),
           "t_total": _num(timings.get("total")), **counts(tensors)}
    return {"row": row, "tensors": [tensor_row(i, t) for i, t in enumerate(tensors)]}


def _peak_rss() -> int:
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def warm() -> int:
    """Import the analysis code and compile its numba kernels on this worker (a scan of a tiny fresh
    Linear layer); returns the worker's pid. Optional: the first task on a worker pays this (~2-8 s) anyway."""
    _limit_threads()
    import torch

    from .. import scan

    torch.manual_seed(0)
    scan(torch.nn.Sequential(torch.nn.Linear(16, 16), torch.nn.Linear(16, 16)), progress=False)
    return os.getpid()


# ------------------------------------------------------------------------------------ one checkpoint
def scan_task(source: str) -> dict:
    """Scan one checkpoint on this worker: ``{'row': {...}, 'tensors': [...]}`` or an error row."""
    t0 = time.perf_counter()
    _limit_threads()
    try:
        from .. import scan

        res = scan(source, progress=False)
        out = result_rows(res.verdict, res.score, res.untrained, res.tensors, fmt=res.format,
                          n_params=res.n_params, prov=res.provenance, warnings=res.warnings,
                          timings=res.timings)
    except Exception as err:  # noqa: BLE001 - a bad checkpoint is an error row, never a failed run
        out = {"row": {"error": one_line(err)}, "tensors": []}
    out["row"]["t_task"] = time.perf_counter() - t0
    out["row"]["worker"] = worker_name()
    out["peak_rss"] = _peak_rss()
    return out


# ------------------------------------------------------------------------------------------- split
@functools.lru_cache(maxsize=2)
def _open(path: str, size: int, mtime_ns: int):
    """The lazily read Checkpoint, cached per worker process (one header parse and one hash per worker and
    file version, not one per slice or per compare task)."""
    from ..sources import load

    return load(path)


def _open_checked(path: str):
    """_open keyed by the file's size and mtime (a name, nothing to stat: by the name alone)."""
    try:
        st = os.stat(os.path.expanduser(path))
    except OSError:
        return _open(path, -1, -1)
    return _open(path, st.st_size, st.st_mtime_ns)


def plan_task(path: str) -> dict:
    """The tensors of a checkpoint to split: names in record order with their sizes, plus provenance."""
    _limit_threads()
    ck = _open_checked(path)
    return {"names": [r.name for r in ck.records], "numel": [int(r.numel) for r in ck.records],
            "format": ck.format, "n_params": int(ck.n_params), "provenance": dict(ck.provenance),
            "warnings": list(ck.warnings), "worker": worker_name()}


def slice_task(path: str, names: list[str]) -> dict:
    """Judge the tensors ``names`` of ``path``: each read from its own byte range, one at a time, so the
    worker holds one tensor (and its features' work arrays) at a time."""
    t0 = time.perf_counter()
    _limit_threads()
    from ..verdict.stream import judge_or_skip

    ck = _open_checked(path)
    by_name = {r.name: r for r in ck.records}
    out, warnings, t_read, t_an = [], [], 0.0, 0.0
    for name in names:
        rec = by_name[name]
        t1 = time.perf_counter()
        raw = rec.read()
        t2 = time.perf_counter()
        tv, warning = judge_or_skip(rec, raw)       # as paramstat.scan: a skipped row, and a warning
        if warning:
            warnings.append(warning)
        del raw
        t_read += t2 - t1
        t_an += time.perf_counter() - t2
        out.append(tv)
    return {"tensors": out, "warnings": warnings, "t_read": t_read, "t_analysis": t_an,
            "t_task": time.perf_counter() - t0, "worker": worker_name(), "peak_rss": _peak_rss()}


def judge_split(tensors: list) -> tuple[str, float, list[str]]:
    """The checkpoint verdict from the per-tensor verdicts of every slice (on the client)."""
    from ..verdict import judge_checkpoint

    return judge_checkpoint(tensors)


# ------------------------------------------------------------------------------------------ compare
def source_sha256(source: str) -> str | None:
    """checkpoint_sha256 of what ``source`` loads as (the value scan rows hold), from the per-worker cache of
    opened checkpoints (_open): a zoo compare hashes its base once per worker, not once per task."""
    return checkpoint_sha256(_open_checked(source).provenance)


def compare_task(base: str, source: str) -> dict:
    """Compare ``source`` with ``base`` on this worker: a ``comparisons`` row."""
    t0 = time.perf_counter()
    _limit_threads()
    try:
        from .. import compare

        d = compare(base, source).to_dict()
        c = d.get("counts") or {}
        tens = d.get("tensors") or []
        row = {"relation": d.get("relation"), "relation_detail": d.get("relation_detail"),
               "n_compared": len(tens), "n_identical": int(c.get("identical", 0)),
               "n_changed": sum(1 for t in tens if t.get("relation") != "identical"),
               "n_shape_mismatch": len(d.get("shape_mismatch") or []),
               "n_only_base": len(d.get("only_in_a") or []), "n_only_other": len(d.get("only_in_b") or []),
               "counts": c, "changed": [t["name"] for t in tens if t.get("relation") != "identical"][:1000],
               "params_base": d.get("params_a"), "params_other": d.get("params_b"),
               # after compare read both files (in the page cache now); the same hash scan rows hold
               "sha256": source_sha256(source), "base_sha256": source_sha256(base)}
    except Exception as err:  # noqa: BLE001 - one bad checkpoint is an error row
        row = {"error": one_line(err)}
    row["t_total"] = time.perf_counter() - t0
    row["worker"] = worker_name()
    return row
