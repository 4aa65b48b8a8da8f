"""The zoo database (DuckDB): schema, the single writer, and the read API returning pandas DataFrames.

Schema version 1 (docs/ZOO.md lists every column): ``meta`` (key, value: schema_version,
created_by), ``runs`` (one row per ``zoo scan`` / ``zoo compare`` run, with its counts), ``checkpoints``
(one row per checkpoint and paramstat version, errors included), ``tensors`` (one row per tensor of a
checkpoint row), ``comparisons`` (one row per checkpoint compared with a base).

Only the client writes, one transaction per checkpoint (its row and all its tensor rows commit together or
not at all: a kill -9 of the client loses at most the checkpoint being written). DuckDB allows one writing
process per file; a second run is refused with :class:`~paramstat.errors.ParamstatError`.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass

from ..errors import ParamstatError

SCHEMA_VERSION = 1

DDL = [
    "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
    "CREATE SEQUENCE IF NOT EXISTS run_ids START 1",
    "CREATE SEQUENCE IF NOT EXISTS comparison_ids START 1",
    """CREATE TABLE IF NOT EXISTS runs (
        id BIGINT PRIMARY KEY, command VARCHAR, started_at TIMESTAMP, finished_at TIMESTAMP,
        paramstat_version VARCHAR, scheduler VARCHAR, n_workers INTEGER, n_sources INTEGER,
        n_skipped INTEGER, n_done INTEGER, n_failed INTEGER, n_duplicates INTEGER, wall_s DOUBLE)""",
    """CREATE TABLE IF NOT EXISTS checkpoints (
        id BIGINT PRIMARY KEY, run_id BIGINT, source VARCHAR, path VARCHAR, file_size BIGINT,
        mtime_ns BIGINT, sha256 VARCHAR, format VARCHAR, architecture VARCHAR, verdict VARCHAR,
        score DOUBLE, n_tensors INTEGER, n_trained INTEGER, n_untrained INTEGER, n_undetermined INTEGER,
        n_skipped INTEGER, n_params BIGINT, never_trained VARCHAR[], warnings VARCHAR[],
        t_load DOUBLE, t_analysis DOUBLE, t_total DOUBLE, t_task DOUBLE, worker VARCHAR, split_tasks INTEGER,
        duplicate_of BIGINT, paramstat_version VARCHAR, error VARCHAR, created_at TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS tensors (
        checkpoint_id BIGINT, idx INTEGER, name VARCHAR, role VARCHAR, shape BIGINT[], dtype VARCHAR,
        numel BIGINT, depth INTEGER, verdict VARCHAR, score DOUBLE, top_evidence VARCHAR, evidence JSON,
        mean DOUBLE, std DOUBLE, kurt DOUBLE, robust_kurt DOUBLE, runs_z DOUBLE, init_signature VARCHAR,
        signature_ks_d DOUBLE, bits_max_abs_z DOUBLE, n_spikes INTEGER, top_over_edge DOUBLE,
        features JSON)""",
    """CREATE TABLE IF NOT EXISTS comparisons (
        id BIGINT PRIMARY KEY, run_id BIGINT, base VARCHAR, base_sha256 VARCHAR, source VARCHAR,
        path VARCHAR, file_size BIGINT, mtime_ns BIGINT, sha256 VARCHAR, relation VARCHAR,
        relation_detail VARCHAR, n_compared INTEGER, n_identical INTEGER, n_changed INTEGER,
        n_shape_mismatch INTEGER, n_only_base INTEGER, n_only_other INTEGER, counts JSON,
        changed VARCHAR[], params_base BIGINT, params_other BIGINT, t_total DOUBLE, worker VARCHAR,
        paramstat_version VARCHAR, error VARCHAR, created_at TIMESTAMP)""",
]

CHECKPOINT_COLS = ("source", "path", "file_size", "mtime_ns", "sha256", "format", "architecture", "verdict",
                   "score", "n_tensors", "n_trained", "n_untrained", "n_undetermined", "n_skipped",
                   "n_params", "never_trained", "warnings", "t_load", "t_analysis", "t_total", "t_task",
                   "worker", "split_tasks", "duplicate_of", "paramstat_version", "error")
TENSOR_COLS = ("idx", "name", "role", "shape", "dtype", "numel", "depth", "verdict", "score", "top_evidence",
               "evidence", "mean", "std", "kurt", "robust_kurt", "runs_z", "init_signature", "signature_ks_d",
               "bits_max_abs_z", "n_spikes", "top_over_edge", "features")
COMPARISON_COLS = ("base", "base_sha256", "source", "path", "file_size", "mtime_ns", "sha256", "relation",
                   "relation_detail", "n_compared", "n_identical", "n_changed", "n_shape_mismatch",
                   "n_only_base", "n_only_other", "counts", "changed", "params_base", "params_other",
                   "t_total", "worker", "paramstat_version", "error")


def _duckdb():
    try:
        import duckdb
    except ImportError as err:   # a dependency of paramstat: only a broken install lacks it
        raise ParamstatError("the zoo database needs duckdb", hint="pip install duckdb") from err
    return duckdb


def connect(path: str, *, read_only: bool = False):
    """A DuckDB connection; another process holding the file gives a one-line ParamstatError."""
    duckdb = _duckdb()
    if read_only and not os.path.exists(path):
        raise ParamstatError("no such zoo database", path=path, hint="create it with `paramstat zoo scan ... --db`")
    try:
        return duckdb.connect(path, read_only=read_only)
    except duckdb.IOException as err:
        msg = str(err)
        if "lock" in msg.lower():
            holder = msg.split("(PID", 1)[1].split(")", 1)[0].strip() if "(PID" in msg else "?"
            raise ParamstatError(f"the database is in use by another process (PID {holder})", path=path,
                                 hint="wait for that run to finish, or give another --db") from None
        raise ParamstatError(f"cannot open the database ({msg.splitlines()[0]})", path=path) from None
    except duckdb.Error as err:
        raise ParamstatError(f"not a DuckDB database ({str(err).splitlines()[0]})", path=path,
                             hint="give a new file name or an existing zoo database") from None


def _clean(v):
    """JSON/DB-safe value: NaN/Inf -> None, numpy scalars -> Python."""
    if v is None:
        return None
    if hasattr(v, "item") and not isinstance(v, (list, tuple, dict)):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _json(obj) -> str | None:
    if obj is None:
        return None

    def fix(o):
        if isinstance(o, dict):
            return {str(k): fix(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [fix(v) for v in o]
        return _clean(o)

    return json.dumps(fix(obj))


@dataclass
class Done:
    """What the DB already holds for a rerun: keys (path or source) -> fingerprint and sha256s."""
    by_key: dict[str, tuple[int | None, int | None, bool, int]]   # key -> (size, mtime_ns, is_error, id)
    by_sha: dict[str, int]                                       # sha256 -> checkpoint id (rows without error)


class Writer:
    """The only writer of a zoo database (one per process; DuckDB refuses a second process)."""

    def __init__(self, path: str, commit_every: int = 1):
        self.path = path
        self.con = connect(path)
        self.commit_every = max(1, int(commit_every))
        self._pending = 0
        self._ensure_schema()
        self._next_id = int(self.con.execute("SELECT coalesce(max(id), 0) FROM checkpoints").fetchone()[0]) + 1

    # ---------------------------------------------------------------------------------------- schema
    def _ensure_schema(self) -> None:
        con = self.con
        con.execute("BEGIN")
        for stmt in DDL:
            con.execute(stmt)
        row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None:
            from .. import __version__

            con.execute("INSERT INTO meta VALUES ('schema_version', ?), ('created_by', ?)",
                        [str(SCHEMA_VERSION), f"paramstat {__version__}"])
        elif int(row[0]) != SCHEMA_VERSION:
            con.execute("ROLLBACK")
            raise ParamstatError(f"database schema version {row[0]}, this paramstat writes version "
                                 f"{SCHEMA_VERSION}", path=self.path, hint="give a new --db file")
        con.execute("COMMIT")

    def flush(self) -> None:
        """Commit the open batch of checkpoints (with ``commit_every`` > 1)."""
        if self._pending:
            self.con.execute("COMMIT")
            self._pending = 0

    def close(self) -> None:
        self.flush()
        self.con.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------------------------------------ runs
    def start_run(self, command: str, version: str, scheduler: str, n_workers: int, n_sources: int) -> int:
        rid = self.con.execute("SELECT nextval('run_ids')").fetchone()[0]
        self.con.execute("INSERT INTO runs (id, command, started_at, paramstat_version, scheduler, n_workers, "
                         "n_sources) VALUES (?, ?, now(), ?, ?, ?, ?)",
                         [rid, command, version, scheduler, n_workers, n_sources])
        return int(rid)

    def finish_run(self, run_id: int, counts: dict, wall_s: float) -> None:
        self.flush()
        self.con.execute("UPDATE runs SET finished_at = now(), n_skipped = ?, n_done = ?, n_failed = ?, "
                         "n_duplicates = ?, wall_s = ? WHERE id = ?",
                         [counts.get("skipped", 0), counts.get("done", 0), counts.get("failed", 0),
                          counts.get("duplicates", 0), wall_s, run_id])

    # ----------------------------------------------------------------------------------- checkpoints
    def done(self, version: str, table: str = "checkpoints", base: str | None = None) -> Done:
        """Rows of this paramstat version (for ``comparisons``: of this base)."""
        q = f"SELECT coalesce(path, source), file_size, mtime_ns, error IS NOT NULL, id, sha256 FROM {table} " \
            "WHERE paramstat_version = ?"
        args: list = [version]
        if table == "comparisons":
            q += " AND base = ?"
            args.append(base)
        by_key, by_sha = {}, {}
        for key, size, mtime, err, cid, sha in self.con.execute(q, args).fetchall():
            by_key[key] = (size, mtime, bool(err), int(cid))
            if sha and not err:
                by_sha.setdefault(sha, int(cid))
        return Done(by_key, by_sha)

    def insert_checkpoint(self, run_id: int, row: dict, tensors: list[dict], replace: int | None = None) -> int:
        """The checkpoint row and its tensor rows in one transaction (``replace``: an id deleted first in the
        same transaction). With ``commit_every`` K > 1 the transaction holds K checkpoints."""
        con = self.con
        if not self._pending:
            con.execute("BEGIN")
        try:
            if replace is not None:
                con.execute("DELETE FROM tensors WHERE checkpoint_id = ?", [replace])
                con.execute("DELETE FROM checkpoints WHERE id = ?", [replace])
            cid = self._next_id      # ids from the writer itself: it is the only one (the file lock)
            vals = [_clean(row.get(c)) if c not in ("never_trained", "warnings") else row.get(c)
                    for c in CHECKPOINT_COLS]
            con.execute(f"INSERT INTO checkpoints (id, run_id, {', '.join(CHECKPOINT_COLS)}, created_at) "
                        f"VALUES (?, ?, {', '.join('?' * len(CHECKPOINT_COLS))}, now())", [cid, run_id, *vals])
            if tensors:
                self._insert_tensors(cid, tensors)
            self._pending += 1
            if self._pending >= self.commit_every:
                self.flush()
        except BaseException:
            con.execute("ROLLBACK")
            self._pending = 0
            raise
        self._next_id = cid + 1
        return cid

    def _insert_tensors(self, cid: int, tensors: list[dict]) -> None:
        """Few rows: one multi-row INSERT ... VALUES; many: through a pandas DataFrame (binding values one by
        one costs ~0.5 ms a row, a DataFrame ~15 ms a call)."""
        rows = [[cid] + [_json(t.get(c)) if c in ("evidence", "features") else
                         [int(x) for x in t.get(c) or []] if c == "shape" else _clean(t.get(c))
                         for c in TENSOR_COLS] for t in tensors]
        cols = ("checkpoint_id", *TENSOR_COLS)
        if len(rows) <= 32:
            one = "(" + ", ".join("?" * len(cols)) + ")"
            self.con.execute(f"INSERT INTO tensors ({', '.join(cols)}) VALUES " + ", ".join([one] * len(rows)),
                             [v for r in rows for v in r])
            return
        import pandas as pd

        self.con.register("_zoo_tensors", pd.DataFrame(rows, columns=list(cols)))
        try:
            self.con.execute(f"INSERT INTO tensors ({', '.join(cols)}) SELECT {', '.join(cols)} FROM _zoo_tensors")
        finally:
            self.con.unregister("_zoo_tensors")

    def insert_comparison(self, run_id: int, row: dict, replace: int | None = None) -> int:
        con = self.con
        con.execute("BEGIN")
        try:
            if replace is not None:
                con.execute("DELETE FROM comparisons WHERE id = ?", [replace])
            cid = int(con.execute("SELECT nextval('comparison_ids')").fetchone()[0])
            vals = [_json(row.get(c)) if c == "counts" else
                    (row.get(c) if c == "changed" else _clean(row.get(c))) for c in COMPARISON_COLS]
            con.execute(f"INSERT INTO comparisons (id, run_id, {', '.join(COMPARISON_COLS)}, created_at) "
                        f"VALUES (?, ?, {', '.join('?' * len(COMPARISON_COLS))}, now())", [cid, run_id, *vals])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return cid


class ZooDB:
    """Read API: every table as a pandas DataFrame (``paramstat.zoo.open_db(path)``)."""

    def __init__(self, path: str, read_only: bool = True):
        self.path = path
        self.con = connect(path, read_only=read_only)

    def close(self) -> None:
        self.con.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def query(self, sql: str, params: list | None = None):
        """Run SQL, return a DataFrame (SQL errors become a one-line ParamstatError)."""
        duckdb = _duckdb()
        try:
            return self.con.execute(sql, params or []).df()
        except duckdb.Error as err:
            raise ParamstatError(f"SQL error: {str(err).splitlines()[0]}", path=self.path) from None

    def schema_version(self) -> int:
        return int(self.query("SELECT value FROM meta WHERE key = 'schema_version'").iloc[0, 0])

    def checkpoints(self):
        return self.query("SELECT * FROM checkpoints ORDER BY id")

    def tensors(self, checkpoint_id: int | None = None):
        if checkpoint_id is None:
            return self.query("SELECT * FROM tensors ORDER BY checkpoint_id, idx")
        return self.query("SELECT * FROM tensors WHERE checkpoint_id = ? ORDER BY idx", [int(checkpoint_id)])

    def comparisons(self):
        return self.query("SELECT * FROM comparisons ORDER BY id")

    def runs(self):
        return self.query("SELECT * FROM runs ORDER BY id")


def open_db(path: str) -> ZooDB:
    """Open a zoo database read-only (refused while a run writes it: DuckDB has one writer per file)."""
    return ZooDB(path)
