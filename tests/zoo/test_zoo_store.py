"""The zoo database without a cluster: schema version, the rerun rule, batched commits under kill -9."""
from __future__ import annotations

import os
import subprocess
import sys

import duckdb
import pytest

from paramstat.errors import ParamstatError
from paramstat.zoo import open_db
from paramstat.zoo.discover import Item
from paramstat.zoo.run import todo
from paramstat.zoo.store import Done, Writer


def _row(path: str) -> dict:
    return {"source": path, "path": path, "file_size": 10, "mtime_ns": 5, "paramstat_version": "v",
            "verdict": "untrained", "score": 0.1, "never_trained": [], "warnings": []}


def test_rerun_rule():
    done = Done(by_key={"/a": (10, 5, False, 1), "/b": (10, 5, True, 2), "/c": (10, 5, False, 3),
                        "resnet18": (None, None, False, 4)}, by_sha={})
    items = [Item("/a", "/a", 10, 5, "file"),        # unchanged: skipped
             Item("/b", "/b", 10, 5, "file"),        # an error row: skipped unless retry_errors
             Item("/c", "/c", 11, 5, "file"),        # changed size: redone, row 3 replaced
             Item("/d", "/d", 1, 1, "file"),         # new
             Item("resnet18")]                       # a name already done: skipped
    todo_, skipped = todo(items, done, retry_errors=False)
    assert [(it.key, rep) for it, rep in todo_] == [("/c", 3), ("/d", None)] and skipped == 3
    todo_, skipped = todo(items, done, retry_errors=True)
    assert [(it.key, rep) for it, rep in todo_] == [("/b", 2), ("/c", 3), ("/d", None)] and skipped == 2


def test_schema_version_is_checked(tmp_path):
    db = str(tmp_path / "z.duckdb")
    Writer(db).close()
    with open_db(db) as z:
        assert z.schema_version() == 1
        assert set(z.query("SELECT table_name FROM information_schema.tables").table_name) >= {
            "meta", "runs", "checkpoints", "tensors", "comparisons"}
    con = duckdb.connect(db)
    con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    con.close()
    with pytest.raises(ParamstatError, match="schema version 99"):
        Writer(db)
    (tmp_path / "text.duckdb").write_text("not a database")
    with pytest.raises(ParamstatError):
        Writer(str(tmp_path / "text.duckdb"))


@pytest.mark.parametrize("every, kept", [(1, 4), (3, 3)])
def test_kill_keeps_exactly_the_committed_rows(tmp_path, every, kept):
    """A process that inserts 4 checkpoints (2 tensor rows each) and dies without closing (os._exit) leaves
    every committed transaction: all 4 with one per transaction, 3 with three per transaction."""
    db = str(tmp_path / "z.duckdb")
    code = (f"import os; from paramstat.zoo.store import Writer; w = Writer({db!r}, commit_every={every}); "
            "r = w.start_run('scan', 'v', 'local', 1, 4)\n"
            "for i in range(4):\n"
            f"    w.insert_checkpoint(r, {_row('/x')!r} | {{'path': f'/x{{i}}'}}, "
            "[{'idx': 0, 'name': 'a', 'shape': [2, 2]}, {'idx': 1, 'name': 'b', 'shape': [2]}])\n"
            "os._exit(0)")
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONPATH": os.getcwd()})
    with open_db(db) as z:
        ck = z.checkpoints()
        n_t = int(z.query("SELECT count(*) FROM tensors").iloc[0, 0])
    assert list(ck.path) == [f"/x{i}" for i in range(kept)] and n_t == 2 * kept


def test_cli_refuses_to_overwrite_json_and_help_imports_nothing_heavy(tmp_path, capsys):
    from paramstat.cli import main

    keep = tmp_path / "keep.json"
    keep.write_text("KEEP\n")
    rc = main(["zoo", "scan", str(tmp_path), "--db", str(tmp_path / "z.duckdb"), "--json", str(keep)])
    err = capsys.readouterr().err
    assert rc == 2 and "output exists" in err and "--force" in err and keep.read_text() == "KEEP\n"
    assert not (tmp_path / "z.duckdb").exists()                     # refused before any work
    code = ("import sys; from paramstat.cli import build_parser; build_parser(); "
            "print(sorted(m for m in ('dask', 'distributed', 'duckdb', 'torch', 'pandas') if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert r.stdout.strip() == "[]", r.stdout + r.stderr
