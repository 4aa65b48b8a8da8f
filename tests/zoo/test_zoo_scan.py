"""zoo scan on a real LocalCluster into a real DuckDB file: rows agree with paramstat.scan, corrupt files
become error rows, reruns skip (counted), a killed worker's task is rerun, a second writer is refused."""
from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import pandas as pd
import pytest
from zoo_fixtures import make_zoo, save, tiny_state

import paramstat
from paramstat.errors import ParamstatError
from paramstat.zoo import open_db, scan_zoo


def _sha(p) -> str:
    return hashlib.sha256(open(p, "rb").read()).hexdigest()


@pytest.mark.slow
def test_rows_match_paramstat_scan_and_rerun_skips(tmp_path, scheduler):
    paths = make_zoo(tmp_path / "zoo", 6)
    db = str(tmp_path / "z.duckdb")
    c = scan_zoo([str(tmp_path / "zoo")], db, scheduler=scheduler, progress=False)
    assert (c.sources, c.submitted, c.done, c.failed, c.skipped) == (7, 7, 6, 1, 0)
    with open_db(db) as z:
        ck = z.checkpoints().set_index("path")
        tens = z.tensors()
        assert z.schema_version() == 1
    assert len(ck) == 7
    for p in paths[:-1]:
        row = ck.loc[str(p.resolve())]
        ref = paramstat.scan(str(p), progress=False)            # the oracle: the same scan in this process
        assert row.verdict == ref.verdict and row.score == pytest.approx(ref.score, abs=1e-12)
        assert row.n_params == ref.n_params == 32 * 32 + 32 + 32 * 10 + 10
        assert row.sha256 == _sha(p) and row.format == ref.format and pd.isna(row.error)
        assert row.n_tensors == len(ref.tensors) == 4
        assert row.n_untrained + row.n_trained + row.n_undetermined + row.n_skipped == 4
        t = tens[tens.checkpoint_id == row.id].sort_values("idx")
        assert list(t.name) == [x.name for x in ref.tensors]
        assert list(t.verdict) == [x.verdict for x in ref.tensors]
        assert list(t.score) == pytest.approx([x.score for x in ref.tensors], abs=1e-12)
        assert list(t["shape"].iloc[0]) == [32, 32] and t.top_evidence.iloc[0] == ref.tensors[0].evidence[0].text
        assert t["mean"].iloc[0] == pytest.approx(float(ref.tensors[0].stats["moments"]["mean"]))
    bad = ck.loc[str(paths[-1].resolve())]
    assert "corrupt safetensors header" in bad.error and "\n" not in bad.error and pd.isna(bad.verdict)

    # rerun: nothing submitted, nothing added
    c2 = scan_zoo([str(tmp_path / "zoo")], db, scheduler=scheduler, progress=False)
    assert (c2.skipped, c2.submitted, c2.done, c2.failed) == (7, 0, 0, 0)
    # a changed file is scanned again and its row replaced; a copy is a duplicate without tensor rows;
    # --retry-errors rescans the error row
    save(tiny_state(99), paths[0])
    shutil.copy(paths[1], tmp_path / "zoo" / "copy.pt")
    c3 = scan_zoo([str(tmp_path / "zoo")], db, scheduler=scheduler, progress=False, retry_errors=True)
    assert (c3.sources, c3.skipped, c3.submitted, c3.duplicates, c3.failed) == (8, 5, 3, 1, 1)
    with open_db(db) as z:
        ck = z.checkpoints().set_index("path")
        n_t = z.query("SELECT count(*) FROM tensors").iloc[0, 0]
        runs = z.runs()
    assert len(ck) == 8 and ck.index.is_unique
    assert ck.loc[str(paths[0].resolve())].sha256 == _sha(paths[0])
    dup = ck.loc[str((tmp_path / "zoo" / "copy.pt").resolve())]
    assert dup.duplicate_of == ck.loc[str(paths[1].resolve())].id and dup.sha256 == _sha(paths[1])
    assert n_t == 6 * 4                        # 6 good checkpoints x 4 tensors, none for the duplicate
    assert list(runs.n_skipped) == [0, 7, 5] and list(runs.n_failed) == [1, 0, 1]


@pytest.mark.slow
def test_second_concurrent_run_is_refused(tmp_path, scheduler):
    db = tmp_path / "z.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from paramstat.zoo.store import Writer; "
                               "w = Writer(sys.argv[1]); print('ready', flush=True); time.sleep(60)", str(db)],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": os.getcwd()})
    try:
        assert holder.stdout.readline().strip() == "ready"
        save(tiny_state(0, 8), tmp_path / "a.safetensors")
        with pytest.raises(ParamstatError, match=rf"in use by another process \(PID {holder.pid}\)"):
            scan_zoo([str(tmp_path / "a.safetensors")], str(db), scheduler=scheduler, progress=False)
        r = subprocess.run([sys.executable, "-m", "paramstat", "zoo", "scan", str(tmp_path / "a.safetensors"),
                            "--db", str(db), "--scheduler", scheduler], capture_output=True, text=True,
                           env={**os.environ, "PYTHONPATH": os.getcwd()})
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and "in use by another process" in r.stderr
    finally:
        holder.kill()
        holder.wait()


def _processing_worker(client) -> str | None:
    busy = {w: ts for w, ts in client.processing().items() if ts}
    return next(iter(busy), None)


@pytest.mark.slow
def test_killed_worker_task_is_rerun(tmp_path, scheduler):
    """SIGKILL a worker process while it runs a task: the nanny restarts it, the scheduler reruns the task
    elsewhere, and every checkpoint gets its row (no error row, no duplicate)."""
    from distributed import Client

    make_zoo(tmp_path / "zoo", 12, width=384, corrupt=False)     # ~0.3 s per task: a window to kill in
    db = str(tmp_path / "z.duckdb")
    killed = {}

    def killer():
        with Client(scheduler) as c:
            pids = c.run(os.getpid)
            t0 = time.time()
            while time.time() - t0 < 60:
                w = _processing_worker(c)
                if w is not None:
                    killed["task"] = c.processing()[w][0]
                    killed["pid"] = pids[w]
                    os.kill(pids[w], signal.SIGKILL)
                    return
                time.sleep(0.02)

    th = threading.Thread(target=killer)
    th.start()
    counts = scan_zoo([str(tmp_path / "zoo")], db, scheduler=scheduler, progress=False)
    th.join()
    assert "pid" in killed, "no task was seen running"
    assert (counts.done, counts.failed) == (12, 0)
    with open_db(db) as z:
        ck = z.checkpoints()
    assert len(ck) == 12 and ck.path.is_unique and ck.error.isna().all()
    assert not ck.worker.str.endswith(f":{killed['pid']}").any()   # nothing was written by the dead worker


@pytest.mark.slow
def test_client_killed_then_rerun_loses_and_recomputes_nothing(tmp_path, scheduler):
    """SIGKILL the client process (the DB writer) mid-run; a rerun skips every committed row (counted) and
    scans only the rest."""
    from distributed import Client

    n = 60
    make_zoo(tmp_path / "zoo", n, width=128, corrupt=False)
    db = str(tmp_path / "z.duckdb")
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    proc = subprocess.Popen([sys.executable, "-m", "paramstat", "zoo", "scan", str(tmp_path / "zoo"), "--db", db,
                             "--scheduler", scheduler, "--no-progress"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def finished(dask_scheduler) -> int:
        tp = dask_scheduler.task_prefixes.get("scan_task")
        return 0 if tp is None else tp.state_counts.get("forgotten", 0)   # results the client has taken

    with Client(scheduler) as c:
        base = c.run_on_scheduler(finished)
        t0 = time.time()
        while c.run_on_scheduler(finished) - base < 4 and time.time() - t0 < 120:
            time.sleep(0.05)
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with open_db(db) as z:                   # the lock died with the process; committed rows are all there
        before = z.checkpoints()
    k = len(before)
    assert 1 <= k < n, k
    counts = scan_zoo([str(tmp_path / "zoo")], db, scheduler=scheduler, progress=False)
    assert (counts.skipped, counts.submitted, counts.done) == (k, n - k, n - k)
    with open_db(db) as z:
        after = z.checkpoints()
        per = z.query("SELECT checkpoint_id, count(*) AS n FROM tensors GROUP BY 1")
    assert len(after) == n and after.path.is_unique
    assert set(before.id) <= set(after.id)                 # committed rows kept as they were
    assert len(per) == n and (per.n == 4).all()            # every checkpoint has all its tensor rows


def test_worker_config_drops_dasks_malloc_trim_threshold():
    """distributed's default MALLOC_TRIM_THRESHOLD_=65536 made every scan in a worker 1.6x slower; the
    workers paramstat starts get glibc's dynamic default and one BLAS / OpenMP / numba thread."""
    import dask
    import distributed  # noqa: F401 - its config defaults first: config.set restores what was there before

    from paramstat.zoo.cluster import worker_config

    spawn = {"MALLOC_TRIM_THRESHOLD_": 65536, "MY_SETTING": "kept"}            # distributed's default + a user's
    with dask.config.set({"distributed.nanny.pre-spawn-environ": spawn}):
        cfg = worker_config(retries=3)
    env = cfg["distributed.nanny.pre-spawn-environ"]
    assert "MALLOC_TRIM_THRESHOLD_" not in env and env["MY_SETTING"] == "kept"
    assert env["OMP_NUM_THREADS"] == env["NUMBA_NUM_THREADS"] == env["OPENBLAS_NUM_THREADS"] == "1"
    assert cfg["distributed.scheduler.allowed-failures"] == 3


@pytest.mark.slow
def test_workers_run_with_that_environment(scheduler):
    from distributed import Client

    with Client(scheduler) as c:
        envs = c.run(lambda: (os.environ.get("MALLOC_TRIM_THRESHOLD_"), os.environ.get("NUMBA_NUM_THREADS")))
    assert len(envs) == 2 and set(envs.values()) == {(None, "1")}
