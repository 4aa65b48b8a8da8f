"""Discovery of checkpoints: each counted once (HF folders, sharded sets), globs, lists, names."""
from __future__ import annotations

import json
import os

import pytest
from zoo_fixtures import save, tiny_state

from paramstat.errors import ParamstatError
from paramstat.zoo.discover import discover


@pytest.fixture
def tree(tmp_path):
    sd = tiny_state(0, 8)
    save(sd, tmp_path / "a.safetensors")
    save(sd, tmp_path / "sub" / "b.pt")
    save(sd, tmp_path / "sub" / "deeper" / "c.npz")
    (tmp_path / "sub" / "notes.json").write_text("{}")           # not a checkpoint
    (tmp_path / "sub" / "readme.md").write_text("x")
    # a Hugging Face folder holding the same model twice: one checkpoint
    hf = tmp_path / "hf"
    save(sd, hf / "model.safetensors")
    save(sd, hf / "pytorch_model.bin")
    (hf / "config.json").write_text(json.dumps({"model_type": "mlp"}))
    # a sharded set without config.json: the index counts, its shards do not
    sh = tmp_path / "sharded"
    keys = list(sd)
    save({k: sd[k] for k in keys[:2]}, sh / "model-00001-of-00002.safetensors")
    save({k: sd[k] for k in keys[2:]}, sh / "model-00002-of-00002.safetensors")
    wm = {k: "model-00001-of-00002.safetensors" if i < 2 else "model-00002-of-00002.safetensors"
          for i, k in enumerate(keys)}
    (sh / "model.safetensors.index.json").write_text(json.dumps({"weight_map": wm}))
    save(sd, tmp_path / ".hidden" / "h.safetensors")
    return tmp_path


def test_folder_counts_each_checkpoint_once(tree):
    items = discover([str(tree)])
    got = sorted(os.path.relpath(it.path, tree) for it in items)
    assert got == ["a.safetensors", "hf", "sharded/model.safetensors.index.json", "sub/b.pt",
                   "sub/deeper/c.npz"]
    by = {os.path.relpath(it.path, tree): it for it in items}
    assert by["hf"].kind == "folder" and by["sharded/model.safetensors.index.json"].kind == "index"
    # the fingerprint of a sharded set covers the index and both shards
    sh = tree / "sharded"
    assert by["sharded/model.safetensors.index.json"].size == sum(f.stat().st_size for f in sh.iterdir())
    assert by["a.safetensors"].size == (tree / "a.safetensors").stat().st_size
    assert by["a.safetensors"].mtime_ns == (tree / "a.safetensors").stat().st_mtime_ns


def test_globs_lists_and_names(tree):
    lst = tree / "list.txt"
    lst.write_text("# my zoo\na.safetensors\n\nsub/b.pt   # relative to the list\npypi:some-package\n"
                   "resnet18\nORG/NAME\n")
    items = discover([str(tree / "**" / "*.npz"), f"@{lst}", str(tree / "a.safetensors")])
    keys = [it.key for it in items]
    assert keys == [str(tree / "sub" / "deeper" / "c.npz"), str(tree / "a.safetensors"),
                    str(tree / "sub" / "b.pt"), "pypi:some-package", "resnet18", "ORG/NAME"]
    assert [it.kind for it in items[3:]] == ["name"] * 3 and items[3].path is None
    # a .txt file given directly is a list too
    assert [it.key for it in discover([str(lst)])] == keys[1:]


def test_missing_paths_are_refused(tree):
    with pytest.raises(ParamstatError, match="file not found"):
        discover([str(tree / "nope.safetensors")])
    with pytest.raises(ParamstatError, match="no file matches"):
        discover([str(tree / "*.onnx")])
    with pytest.raises(ParamstatError, match="list of sources not found"):
        discover(["@" + str(tree / "missing.txt")])
