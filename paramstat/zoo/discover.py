"""Turn the SOURCES of ``paramstat zoo`` into a list of checkpoints, each counted once.

Rules (documented in docs/ZOO.md):
- a file with an extension ``paramstat.sources.load`` reads (paramstat/formats.py) is one checkpoint; a
  ``*.index.json`` is one checkpoint and the shards it lists are not counted again; other ``.json`` files and
  unknown extensions are ignored inside folders (named explicitly they are passed to ``load``, which sniffs
  magic bytes or refuses: an error row);
- a folder is searched recursively (hidden entries ``.*`` skipped). A folder holding ``config.json`` and
  weights (a Hugging Face folder) is one checkpoint: its own weights files are not counted again
  (``model.safetensors`` beside ``pytorch_model.bin`` is one model); its sub-folders are still searched;
- a glob (``*``, ``?``, ``[``) is expanded (``**`` recursive) and each match treated as above;
- ``@FILE`` or a ``.txt`` file lists one source per line (``#`` comments, blank lines skipped): paths
  (relative to the list's folder when they exist there), timm names, ``pypi:`` names, Hub ids;
- anything else that is no existing path (a timm name, ``pypi:NAME``, ``ORG/NAME``) is passed to the workers
  unchanged: it is resolved there.
Each checkpoint carries a cheap fingerprint (size in bytes and newest mtime of the files it consists of) that
the rerun rule uses before any file is read.
"""
from __future__ import annotations

import glob
import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import ParamstatError
from ..formats import KNOWN_EXT

GLOB_CHARS = ("*", "?", "[")


@dataclass(frozen=True)
class Item:
    """One checkpoint to scan. ``path`` is the resolved path of a file or folder, None for a name."""
    source: str                 # what the worker passes to paramstat.sources.load
    path: str | None = None
    size: int | None = None     # bytes of every file the checkpoint consists of
    mtime_ns: int | None = None  # newest mtime among them
    kind: str = "name"          # 'file' | 'folder' | 'index' | 'name'

    @property
    def key(self) -> str:
        """What identifies the checkpoint before it is read: its resolved path, else the source string."""
        return self.path or self.source


def _is_weights(p: Path) -> bool:
    n = p.name.lower()
    return n.endswith(KNOWN_EXT) and (not n.endswith(".json") or n.endswith(".index.json"))


def _stat(files: list[Path]) -> tuple[int, int]:
    st = [f.stat() for f in files]
    return sum(s.st_size for s in st), max((s.st_mtime_ns for s in st), default=0)


def index_shards(index: Path) -> list[Path]:
    """Shard files named in a ``*.index.json`` weight_map (missing ones included: ``load`` reports them)."""
    try:
        wm = json.loads(index.read_text()).get("weight_map") or {}
        return [index.parent / s for s in dict.fromkeys(wm.values())] if isinstance(wm, dict) else []
    except (OSError, ValueError, AttributeError):
        return []


def file_item(p: Path) -> Item:
    p = p.resolve()
    files = [p]
    kind = "file"
    if p.name.lower().endswith(".index.json"):
        kind = "index"
        files += [s for s in index_shards(p) if s.exists()]
    size, mtime = _stat(files)
    return Item(str(p), str(p), size, mtime, kind)


def folder_item(p: Path) -> Item:
    p = p.resolve()
    files = [f for f in p.iterdir() if f.is_file() and (_is_weights(f) or f.name == "config.json")]
    size, mtime = _stat(files)
    return Item(str(p), str(p), size, mtime, "folder")


def _walk(root: Path) -> list[Item]:
    """Checkpoints under a folder, in sorted (reproducible) order."""
    out: list[Item] = []
    entries = sorted(e for e in root.iterdir() if not e.name.startswith("."))
    files = [e for e in entries if e.is_file() and _is_weights(e)]
    if (root / "config.json").is_file() and files:
        out.append(folder_item(root))                      # a Hugging Face folder: one checkpoint
    else:
        shards: set[Path] = set()
        for f in files:
            if f.name.lower().endswith(".index.json"):
                shards.update(s.resolve() for s in index_shards(f))
        out += [file_item(f) for f in files if f.resolve() not in shards]
    for d in entries:
        if d.is_dir():
            out += _walk(d)
    return out


def _list_file(path: Path) -> list[str]:
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise ParamstatError(f"cannot read the list of sources ({err})", path=str(path)) from err
    out = []
    for line in lines:
        s = line.split("#", 1)[0].strip() if not line.lstrip().startswith("#") else ""
        if not s:
            continue
        local = path.parent / os.path.expanduser(s)
        out.append(str(local) if not os.path.isabs(s) and local.exists() else s)
    return out


def _expand(arg: str, *, listed: bool, depth: int = 0) -> list[Item]:
    if arg.startswith("@"):
        p = Path(os.path.expanduser(arg[1:]))
        if not p.is_file():
            raise ParamstatError("list of sources not found", path=arg[1:], hint="give @FILE with one source a line")
        return _from_list(p, depth)
    p = Path(os.path.expanduser(arg))
    if p.is_dir():
        return _walk(p)
    if p.is_file():
        if p.suffix.lower() == ".txt":
            return _from_list(p, depth)
        return [file_item(p)]
    if any(c in arg for c in GLOB_CHARS):
        hits = sorted(glob.glob(os.path.expanduser(arg), recursive=True))
        if not hits and not listed:
            raise ParamstatError("no file matches this pattern", path=arg, hint="check the glob (quote it)")
        return [it for h in hits for it in _expand(h, listed=listed, depth=depth)]
    if not listed and (arg.startswith((".", "/", "~")) or arg.lower().endswith(KNOWN_EXT)):
        raise ParamstatError("file not found", path=arg, hint="check the path")
    return [Item(arg)]           # a timm name, pypi:NAME or Hub id: resolved on the worker


def _from_list(p: Path, depth: int) -> list[Item]:
    if depth > 4:
        raise ParamstatError("lists of sources nested too deep", path=str(p))
    return [it for s in _list_file(p) for it in _expand(s, listed=True, depth=depth + 1)]


def discover(sources: list[str]) -> list[Item]:
    """Every checkpoint the SOURCES name, each once (first occurrence kept)."""
    seen: dict[str, Item] = {}
    for arg in sources:
        for it in _expand(str(arg), listed=False):
            seen.setdefault(it.key, it)
    return list(seen.values())
