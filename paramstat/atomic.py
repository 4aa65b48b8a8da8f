"""Atomic output: write to a temp file beside the target, then rename. Never overwrite without force."""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from .errors import ParamstatError


def check_writable(path: str | os.PathLike, force: bool) -> Path:
    p = Path(path)
    if p.exists() and not force:
        raise ParamstatError("output exists", path=str(p), hint="pass --force to overwrite it")
    if not p.parent.exists():
        raise ParamstatError("output folder does not exist", path=str(p.parent), hint="create it first")
    return p


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, force: bool = False):
    """Yield a temp path in the target's folder; on success rename it over ``path``; on error remove it."""
    p = check_writable(path, force)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; give the usual permissions
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text(path: str | os.PathLike, text: str, force: bool = False) -> None:
    with atomic_path(path, force) as tmp:
        Path(tmp).write_text(text)
