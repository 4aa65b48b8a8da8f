"""Confinement: a file reads only itself and what its format legitimately references inside the folder
the user named (docs/SECURITY.md).

- ``inside(base, name, ...)``: a referenced file (index shard, ONNX external data) must be a relative
  path that, resolved (symlinks followed, ``..`` applied), stays inside ``base``; absolute paths, ``..``
  escapes and symlinks out are refused. Messages name the reference, never its content.
- ``check_h5(f, path)``: HDF5 external links, external raw storage (``Dataset.external``) and virtual
  datasets are refused; with ``--allow-external`` (``limits.current().allow_external``) they are
  allowed when every file they name resolves inside the input's folder (external raw files are named
  relative to the working directory by HDF5: they must resolve inside the folder from there too).
"""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import ParamstatError
from . import limits
from .h5guard import corrupt_guard

REFUSE_HINT = ("paramstat reads only the file you name; pass --allow-external to follow references that stay "
               "inside the file's folder")


def is_inside(base: Path, target: Path) -> bool:
    b, t = base.resolve(), target.resolve()
    return t == b or b in t.parents


def inside(base: Path, name, what: str, path: str) -> Path:
    """``base / name`` resolved, refused unless it stays inside ``base`` (``what`` names the reference)."""
    if not isinstance(name, str) or not name or "\x00" in name:
        raise ParamstatError(f"{what} is not a file name", path=path, hint="the file is corrupt or hostile")
    shown = name if len(name) <= 80 else name[:77] + "..."
    if os.path.isabs(name) or name.startswith("~"):
        raise ParamstatError(f"{what} is an absolute path ({shown!r}): refused", path=path,
                             hint="references must be relative paths inside the file's folder")
    target = base / name
    if not (is_inside(base, target) or _in_hf_blobs(base, target)):
        raise ParamstatError(f"{what} points outside the file's folder ({shown!r}): refused", path=path,
                             hint="references must stay inside the folder (no '..', no symlinks out)")
    return target


def _in_hf_blobs(base: Path, target: Path) -> bool:
    """A Hugging Face cache snapshot (``models--ORG--NAME/snapshots/REV/``) links its files to the repo's
    ``blobs/``: those links are the layout, not an escape (the name itself must not climb out)."""
    b = base.resolve()
    if b.parent.name != "snapshots" or not b.parent.parent.name.startswith(("models--", "datasets--")):
        return False
    name = target.relative_to(base) if target.is_relative_to(base) else None
    if name is None or ".." in name.parts or not target.is_symlink():
        return False
    blobs = os.path.normpath(b.parent.parent / "blobs")
    link = os.path.normpath(os.path.join(b / name.parent, os.readlink(target)))
    return os.path.dirname(link) == blobs   # the snapshot's link names a blob (the cache's own content)


def _h5_file_ok(base: Path, fname: str, *, cwd_too: bool = False) -> bool:
    if fname in (".", ""):
        return True
    if os.path.isabs(fname):
        return is_inside(base, Path(fname))
    ok = is_inside(base, base / fname)
    if cwd_too:
        ok = ok and is_inside(base, Path.cwd() / fname)
    return ok


def check_h5(f, path: str) -> None:
    """Refuse (see the module docstring) external links, external raw storage and virtual datasets of the
    open h5py File ``f`` (``path`` names the file the user gave)."""
    import h5py

    allow = limits.current().allow_external
    base = Path(path).resolve().parent
    problems: list[str] = []

    def link(name, lk):
        if isinstance(lk, h5py.ExternalLink):
            if not (allow and _h5_file_ok(base, lk.filename)):
                problems.append(f"an external link '{name}' to another file")
        return None if len(problems) < 1 else True

    def obj(name, o):
        if not isinstance(o, h5py.Dataset):
            return None
        if o.external:
            if not (allow and all(_h5_file_ok(base, str(e[0], "utf8", "replace") if isinstance(e[0], bytes)
                                              else str(e[0]), cwd_too=True) for e in o.external)):
                problems.append(f"dataset '{name}' stores its data in an external file")
        elif o.is_virtual:
            srcs = o.virtual_sources()
            if not (allow and all(_h5_file_ok(base, s.file_name) for s in srcs)):
                problems.append(f"dataset '{name}' is a virtual dataset mapping other files")
        return True if problems else None

    with corrupt_guard(path, "HDF5 file", "the file is truncated or corrupt: re-download it"):
        f.visititems_links(link)
        if not problems:
            f.visititems(obj)
    if problems:
        raise ParamstatError(f"refused: {problems[0]}", path=path, hint=REFUSE_HINT)


def h5_dataset(f, hpath: str, path: str, allow: bool = False):
    """``f[hpath]`` for reading values, re-checked (the file may have changed since it was opened): refused
    when reached through an external link or when it is external / virtual (unless ``allow``: the
    ``allow_external`` in force when the file was opened and checked)."""
    ds = f[hpath]
    if not allow and (ds.file.filename != f.filename or ds.external or ds.is_virtual):
        raise ParamstatError(f"refused: dataset '{hpath}' reads another file", path=path, hint=REFUSE_HINT)
    return ds
