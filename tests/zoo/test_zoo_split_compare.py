"""Split mode (one checkpoint's tensors as separate tasks, judged on the client) against paramstat.scan of
the same file; zoo compare against one base; the zoo CLI's summary / query / errors."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch
from zoo_fixtures import make_zoo, save, tiny_state

import paramstat
from paramstat.zoo import compare_zoo, open_db, scan_zoo
from paramstat.zoo.discover import Item
from paramstat.zoo.split import plan_slices, should_split


def test_plan_slices_are_contiguous_and_balanced():
    assert plan_slices([1] * 8, 4) == [[0, 1], [2, 3], [4, 5], [6, 7]]
    assert plan_slices([100, 1, 1, 1, 1], 2) == [[0], [1, 2, 3, 4]]       # a big tensor alone
    assert plan_slices([5, 5], 10) == [[0], [1]]                          # never more slices than tensors
    big = Item("/m.safetensors", "/m.safetensors", 3 << 30, 0, "file")
    assert should_split(big, force=False) and not should_split(big, force=False, split_above=4 << 30)
    assert should_split(Item("/i.index.json", "/i.index.json", 10, 0, "index"), force=True)
    assert not should_split(Item("/m.pt", "/m.pt", 3 << 30, 0, "file"), force=True)   # no byte-range reader
    groups = plan_slices(list(range(1, 41)), 5)
    assert [i for g in groups for i in g] == list(range(40)) and len(groups) == 5


def _mixed_state() -> dict:
    """A deeper net whose last layer is re-initialised by hand from a different law: 8 tensors."""
    torch.manual_seed(0)
    sd = {}
    for i in range(3):
        sd[f"l{i}.weight"] = torch.randn(96, 96) * 0.05
        sd[f"l{i}.bias"] = torch.zeros(96)
    sd["head.weight"] = torch.empty(10, 96).uniform_(-0.1, 0.1)
    sd["head.bias"] = torch.empty(10).uniform_(-0.1, 0.1)
    return sd


@pytest.mark.slow
def test_split_equals_plain_scan(tmp_path, scheduler):
    sd = _mixed_state()
    single = save(sd, tmp_path / "big.safetensors")
    # the same tensors as a sharded set
    sh = tmp_path / "sharded"
    keys = list(sd)
    save({k: sd[k] for k in keys[:4]}, sh / "model-00001-of-00002.safetensors")
    save({k: sd[k] for k in keys[4:]}, sh / "model-00002-of-00002.safetensors")
    wm = {k: f"model-0000{1 if i < 4 else 2}-of-00002.safetensors" for i, k in enumerate(keys)}
    (sh / "model.safetensors.index.json").write_text(json.dumps({"weight_map": wm}))
    db = str(tmp_path / "z.duckdb")
    c = scan_zoo([str(single), str(sh)], db, scheduler=scheduler, split=True, progress=False)
    assert (c.done, c.failed) == (2, 0)
    with open_db(db) as z:
        ck = z.checkpoints().set_index("format")
        tens = z.tensors()
    for fmt, src in (("safetensors", single), ("safetensors-sharded", sh / "model.safetensors.index.json")):
        ref = paramstat.scan(str(src), progress=False)
        row = ck.loc[fmt]
        assert row.split_tasks == 4                      # >= 2 per worker, 8 tensors
        assert row.verdict == ref.verdict and row.score == pytest.approx(ref.score, abs=1e-12)
        assert list(row.never_trained) == list(ref.untrained)
        t = tens[tens.checkpoint_id == row.id].sort_values("idx")
        assert list(t.name) == [x.name for x in ref.tensors]
        assert list(t.verdict) == [x.verdict for x in ref.tensors]
        assert list(t.score) == pytest.approx([x.score for x in ref.tensors], abs=1e-12, nan_ok=True)
    assert ck.loc["safetensors"].sha256 != ck.loc["safetensors-sharded"].sha256   # files differ


@pytest.mark.slow
def test_compare_against_base(tmp_path, scheduler):
    base_sd = tiny_state(0)
    base = save(base_sd, tmp_path / "base.safetensors")
    same = save(base_sd, tmp_path / "zoo" / "same.pt")                       # identical values, other format
    tuned = {k: v.clone() for k, v in base_sd.items()}
    tuned["2.weight"] += 0.01 * torch.randn_like(tuned["2.weight"])
    save(tuned, tmp_path / "zoo" / "tuned.safetensors")
    save(tiny_state(5), tmp_path / "zoo" / "other.npz")
    db = str(tmp_path / "z.duckdb")
    c = compare_zoo(str(base), [str(tmp_path / "zoo")], db, scheduler=scheduler, progress=False)
    assert (c.done, c.failed) == (3, 0)
    with open_db(db) as z:
        cmp = z.comparisons().set_index("path")
    for name in ("same.pt", "tuned.safetensors", "other.npz"):
        ref = paramstat.compare(str(base), str(tmp_path / "zoo" / name)).to_dict()
        row = cmp.loc[str((tmp_path / "zoo" / name).resolve())]
        assert row.relation == ref["relation"] and row.base == str(base.resolve())
        changed = [t["name"] for t in ref["tensors"] if t["relation"] != "identical"]
        assert list(row.changed) == changed and row.n_changed == len(changed)
    assert cmp.loc[str(same.resolve())].n_changed == 0
    assert list(cmp.loc[str((tmp_path / "zoo" / "tuned.safetensors").resolve())].changed) == ["2.weight"]
    assert cmp.loc[str((tmp_path / "zoo" / "other.npz").resolve())].n_changed == 4
    c2 = compare_zoo(str(base), [str(tmp_path / "zoo")], db, scheduler=scheduler, progress=False)
    assert (c2.skipped, c2.submitted) == (3, 0)


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "paramstat", "zoo", *args], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": os.getcwd(), "COLUMNS": "250"})


@pytest.mark.slow
def test_cli_scan_summary_query(tmp_path, scheduler):
    make_zoo(tmp_path / "zoo", 3)
    db = str(tmp_path / "z.duckdb")
    r = _cli("scan", str(tmp_path / "zoo"), "--db", db, "--scheduler", scheduler, "--json", "-")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert (d["sources"], d["done"], d["failed"], d["skipped"]) == (4, 3, 1, 0)
    r = _cli("query", db, "SELECT format, count(*) AS n FROM checkpoints WHERE error IS NULL GROUP BY 1 "
                          "ORDER BY 1", "--json", "-")
    assert r.returncode == 0 and json.loads(r.stdout) == [{"format": "npz", "n": 1},
                                                           {"format": "safetensors", "n": 1},
                                                           {"format": "torch", "n": 1}]
    r = _cli("summary", db)
    assert r.returncode == 0 and "verdicts by format" in r.stdout and "corrupt safetensors header" in r.stdout
    # the HTML page holds the database's rows: one section per checkpoint, the error row counted as such
    page = tmp_path / "zoo.html"
    r = _cli("summary", db, "--html", str(page))
    assert r.returncode == 0, r.stderr
    html = page.read_text()
    rows = json.loads(_cli("query", db, "SELECT coalesce(path, source) AS s, verdict FROM checkpoints",
                           "--json", "-").stdout)
    assert len(rows) == 4 and all(f'id="ckpt-{i}"' in html for i in range(len(rows)))
    assert all(__import__("html").escape(row["s"]) in html for row in rows)
    r = _cli("summary", db, "--html", str(page))
    assert r.returncode == 2 and "output exists" in r.stderr and page.read_text() == html
    r = _cli("query", db, "SELECT nope FROM checkpoints")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "SQL error" in r.stderr
    r = _cli("summary", str(tmp_path / "missing.duckdb"))
    assert r.returncode == 2 and "no such zoo database" in r.stderr


def test_split_slice_keeps_a_tensor_it_cannot_judge_as_skipped(tmp_path, monkeypatch):
    """As paramstat.scan does: the tensor stays, as 'skipped' with the error, and a warning names it."""
    from paramstat.verdict import judge_checkpoint, stream
    from paramstat.zoo import task

    path = save(_mixed_state(), tmp_path / "m.safetensors")
    real = stream.judge_tensor

    def flaky(rec, raw):
        if rec.name == "l1.weight":
            raise ValueError("planted failure")
        return real(rec, raw)

    monkeypatch.setattr(stream, "judge_tensor", flaky)
    names = task.plan_task(str(path))["names"]
    out = task.slice_task(str(path), names)
    assert [t.name for t in out["tensors"]] == names                     # nothing dropped
    bad = next(t for t in out["tensors"] if t.name == "l1.weight")
    assert bad.verdict == "skipped" and bad.score is None
    assert "planted failure" in bad.evidence[0].text
    assert out["warnings"] == ["l1.weight: not analysed (ValueError: planted failure)"]
    monkeypatch.setattr(stream, "judge_tensor", real)
    ref = paramstat.scan(str(path), progress=False)
    verdict, _, untrained = judge_checkpoint(out["tensors"])
    assert verdict == ref.verdict                                        # one skipped tensor of 8


def test_compare_task_rows_carry_the_scan_rows_sha256(tmp_path):
    import hashlib

    from paramstat.zoo import task

    a = save(tiny_state(0), tmp_path / "a.safetensors")
    b = save(tiny_state(1), tmp_path / "b.safetensors")
    row = task.compare_task(str(a), str(b))
    assert row.get("error") is None
    assert row["sha256"] == hashlib.sha256(b.read_bytes()).hexdigest()
    assert row["base_sha256"] == hashlib.sha256(a.read_bytes()).hexdigest()
    scan_row = task.scan_task(str(b))["row"]
    assert scan_row["sha256"] == row["sha256"]
