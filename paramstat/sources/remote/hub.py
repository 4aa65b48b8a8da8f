"""Hugging Face Hub repo ids as sources: ``ORG/NAME``, ``ORG/NAME@REVISION`` or ``hf:ORG/NAME[@REVISION]``.

The snapshot comes from the local HF cache first (``snapshot_download(..., local_files_only=True)``: no
network, works offline), else from the Hub, fetching only the weights paramstat reads, their index and
``config.json`` (``allow_patterns`` = exact file names): ``model.safetensors.index.json`` + its shards,
else ``model.safetensors``, else the repo's one root ``.safetensors``, else ``pytorch_model.bin(.index.json)``
(read with ``torch.load(weights_only=True)`` like any .bin). No code is ever fetched or run (no
trust_remote_code, no transformers). The snapshot folder is handed to the Hugging Face folder loader;
provenance adds the repo id, the requested revision, the commit (the snapshot folder's name) and the files
read. ``timm/NAME`` repos (model.safetensors + config.json) read the same way; ``hf-hub:`` stays with timm.
"""
from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path

from ...errors import ParamstatError
from ...formats import KNOWN_EXT

PROBE_URL = "https://huggingface.co/api/models/timm/resnet18.a1_in1k"
PROBE_TIMEOUT = 3.0

PREFIX = "hf:"
# ORG/NAME[@REVISION]; HF forbids ids that start/end with '.'/'-' or contain '--'/'..' (checked in is_repo_id)
REPO_RE = re.compile(r"^([\w.-]+/[\w.-]+)(?:@([\w./-]+))?$")
ST_INDEX, ST_SINGLE = "model.safetensors.index.json", "model.safetensors"
BIN_INDEX, BIN_SINGLE = "pytorch_model.bin.index.json", "pytorch_model.bin"


def is_repo_id(s: str) -> bool:
    """``hf:ANY``, or a string shaped like ``ORG/NAME[@REV]`` without a known weights extension (the caller
    has already found no local path of that name)."""
    if s.startswith(PREFIX):
        return True
    m = REPO_RE.match(s)
    if m is None:
        return False
    repo = m.group(1)
    if repo.lower().endswith(KNOWN_EXT):
        return False
    return all(part[:1] not in ".-" and part[-1:] not in ".-" for part in repo.split("/")) and \
        ".." not in repo and "--" not in repo


def parse(s: str) -> tuple[str, str | None]:
    """``[hf:]ORG/NAME[@REV]`` -> (repo id, revision or None)."""
    body = s[len(PREFIX):] if s.startswith(PREFIX) else s
    m = REPO_RE.match(body)
    if m is None:
        raise ParamstatError(f"not a Hugging Face repo id: {body!r}", path=s,
                             hint="write hf:ORG/NAME or ORG/NAME@REVISION")
    return m.group(1), m.group(2)


def online(timeout: float = PROBE_TIMEOUT) -> bool:
    """Can we reach the HF hub? One HTTPS request (a bare TCP connect is not enough: sandboxes and
    proxies accept connections they cannot serve), bounded by ``timeout`` seconds even when DNS or the
    TLS handshake hangs. Any HTTP answer counts as online."""
    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False") or \
            os.environ.get("PARAMSTAT_OFFLINE"):
        return False
    result = {"ok": False}

    def probe():
        import urllib.error
        import urllib.request

        try:
            req = urllib.request.Request(PROBE_URL, method="HEAD")
            with urllib.request.urlopen(req, timeout=timeout):
                result["ok"] = True
        except urllib.error.HTTPError as e:
            result["ok"] = e.code < 500
        except Exception:  # noqa: BLE001 - URLError, TLS errors, timeouts, resets: all mean offline
            pass

    t = threading.Thread(target=probe, daemon=True)
    t.start()
    t.join(timeout)
    return result["ok"]


def cache_dir() -> str:
    """The hub cache as huggingface_hub computes it, read from the environment at call time (its constants
    are frozen at import): HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub."""
    if os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE"):
        return os.path.expanduser(os.environ.get("HF_HUB_CACHE") or os.environ["HUGGINGFACE_HUB_CACHE"])
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "huggingface")
    return os.path.join(os.path.expanduser(home), "hub")


def _index_shards(index: Path) -> list[str]:
    try:
        wm = json.loads(index.read_text())["weight_map"]
        return sorted(set(wm.values()))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return []


def files_to_read(folder: Path) -> list[str] | None:
    """The files of a snapshot folder the folder loader reads (same order of preference), or None when the
    folder holds no complete weights set (e.g. a cache that only has a tokenizer, or a shard missing)."""
    for idx in (ST_INDEX, BIN_INDEX):
        if (folder / idx).exists():
            shards = _index_shards(folder / idx)
            return [idx] + shards if shards and all((folder / f).exists() for f in shards) else None
    for single in (ST_SINGLE, BIN_SINGLE):
        if (folder / single).exists():
            return [single]
    st = [f.name for f in folder.iterdir() if f.name.endswith(".safetensors") and f.is_file()]
    return st if len(st) == 1 else None


def pick(names: list[str], repo: str) -> list[str]:
    """Which of a repo's files to fetch: safetensors (sharded or single) first, else pytorch_model.bin
    (sharded or single). Only files at the repo's root (subfolders hold ONNX/OpenVINO exports, diffusers
    parts, ...). An index comes back alone: its shards are read from it once it is here."""
    root = [n for n in names if "/" not in n]
    st = [n for n in root if n.endswith(".safetensors")]
    for choice in (ST_INDEX, ST_SINGLE):
        if choice in root:
            return [choice]
    if len(st) == 1:
        return st
    if st:
        raise ParamstatError(f"Hugging Face repo {repo} holds {len(st)} .safetensors files and no index: "
                             + ", ".join(sorted(st)[:5]), hint="download the one you want and pass the file")
    for choice in (BIN_INDEX, BIN_SINGLE):
        if choice in root:
            return [choice]
    other = [n for n in root if n.lower().endswith(KNOWN_EXT + (".msgpack",)) and not n.endswith(".json")]
    raise ParamstatError(f"Hugging Face repo {repo} has no model.safetensors(.index.json) or "
                         "pytorch_model.bin(.index.json) at its root"
                         + (" (it has: " + ", ".join(sorted(other)[:5]) + ")" if other else ""),
                         hint="download a weights file and pass it (paramstat reads .safetensors, .bin/.pt, "
                              ".h5, .onnx, ...)")


def _cached(repo: str, revision: str | None, cache: str) -> Path | None:
    """The cached snapshot folder for (repo, revision) when it holds a complete weights set; no network."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import IncompleteSnapshotError, LocalEntryNotFoundError

    try:
        folder = snapshot_download(repo, revision=revision, cache_dir=cache, local_files_only=True,
                                   allow_patterns=[ST_INDEX, ST_SINGLE, BIN_INDEX, BIN_SINGLE, "config.json"])
    except IncompleteSnapshotError as e:  # the cached tree lists files not here (e.g. the other weights format)
        folder = getattr(e, "snapshot_path", None)
    except (LocalEntryNotFoundError, OSError, ValueError):  # ValueError: HFValidationError (bad id)
        return None
    if folder is None or not Path(folder).is_dir():
        return None
    return Path(folder) if files_to_read(Path(folder)) else None


def _download(repo: str, revision: str | None, cache: str) -> Path:
    """Fetch the weights (+ index, config.json) of ``repo`` at ``revision`` into the cache."""
    from huggingface_hub import HfApi, snapshot_download
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError, RevisionNotFoundError

    at = f"@{revision}" if revision else ""
    try:
        names = [s.rfilename for s in (HfApi().model_info(repo, revision=revision).siblings or [])]
        want = pick(names, repo)
        extra = ["config.json"] if "config.json" in names else []
        folder = Path(snapshot_download(repo, revision=revision, cache_dir=cache, allow_patterns=want + extra))
        if want[0].endswith(".index.json"):
            shards = _index_shards(folder / want[0])
            missing = [f for f in shards if f not in names]
            if not shards or missing:
                raise ParamstatError(f"the index of Hugging Face repo {repo}{at} names no shards or shards "
                                     "the repo does not have: " + ", ".join(missing[:3]), path=want[0],
                                     hint="the repo is broken; download its files and pass the folder")
            folder = Path(snapshot_download(repo, revision=revision, cache_dir=cache,
                                            allow_patterns=want + shards + extra))
    except ParamstatError:
        raise
    except GatedRepoError as e:
        raise ParamstatError(f"Hugging Face repo {repo} is gated", hint="accept its terms on huggingface.co and "
                             "log in (hf auth login), or give a local folder/file") from e
    except RevisionNotFoundError as e:
        raise ParamstatError(f"Hugging Face repo {repo} has no revision {revision!r}",
                             hint="give a branch, tag or commit hash that exists") from e
    except RepositoryNotFoundError as e:
        raise ParamstatError(f"not a local file or folder, and no Hugging Face model repo {repo} (or it is "
                             "private)", path=repo + at, hint="check the path or the repo id (log in for a "
                                                              "private repo)") from e
    except Exception as e:  # noqa: BLE001 - network, disk and validation errors of many kinds
        raise ParamstatError(f"could not download Hugging Face repo {repo}{at} ({type(e).__name__}: "
                             f"{(str(e).splitlines() or [''])[0][:120]})",
                             hint="check the connection and the repo id, or give a local folder/file") from e
    if files_to_read(folder) is None:
        raise ParamstatError(f"the snapshot of Hugging Face repo {repo}{at} holds no complete weights set",
                             path=str(folder), hint="download again, or pass a local folder/file")
    return folder


def snapshot(s: str) -> tuple[str, str | None, Path, bool]:
    """``s`` -> (repo id, revision, snapshot folder, downloaded?): the cache first, then the Hub."""
    repo, revision = parse(s)
    cache = cache_dir()
    folder = _cached(repo, revision, cache)
    if folder is not None:
        return repo, revision, folder, False
    at = f"@{revision}" if revision else ""
    if not online():
        root = Path(cache) / ("models--" + repo.replace("/", "--"))
        refs = sorted(p.name for p in (root / "refs").glob("*")) if (root / "refs").is_dir() else []
        snaps = sorted(p.name[:12] for p in (root / "snapshots").glob("*")) if (root / "snapshots").is_dir() else []
        if revision and (refs or snaps):
            raise ParamstatError(f"revision {revision!r} of Hugging Face repo {repo} is not in the local cache "
                                 f"(cached: {', '.join(refs + [h for h in snaps if h not in refs]) or 'nothing'}) "
                                 "while the hub cannot be reached (offline)", path=s,
                                 hint="give a cached revision (a branch/tag name or the full 40-character commit "
                                      "hash), or connect once to fetch it")
        raise ParamstatError(f"not a local file or folder, and Hugging Face repo {repo}{at} is not in the local "
                             f"cache ({cache}) while the hub cannot be reached (offline)", path=s,
                             hint="connect once to fill the cache, or give a local folder/file "
                                  "(e.g. a downloaded snapshot)")
    return repo, revision, _download(repo, revision, cache), True


def load_repo(s: str, *, fresh: bool = False, trust_pickle: bool = False, roles=None, order=None,
              extra_prov=None):
    """Load Hub repo ``s`` through the Hugging Face folder loader; source = the repo id (with @REVISION)."""
    from ..folder import load_folder
    from ..registry import ReadContext

    if fresh:
        raise ParamstatError("--fresh applies to timm model names, not to Hugging Face repos", path=s,
                             hint="drop --fresh, or use hf-hub:ORG/NAME --fresh for a timm repo")
    repo, revision, folder, downloaded = snapshot(s)
    name = repo + (f"@{revision}" if revision else "")
    ck = load_folder(folder, name, ReadContext(roles=roles, order=order, prov=dict(extra_prov or {}),
                                                trust_pickle=trust_pickle))
    files = files_to_read(folder) or []
    if (folder / "config.json").exists():
        files.append("config.json")
    ck.provenance.update({"hf_repo": repo, "hf_revision": revision or "main", "hf_commit": folder.name,
                          "hf_files": files, "hf_snapshot": str(folder), "hf_downloaded": downloaded})
    ck.source = name
    return ck
