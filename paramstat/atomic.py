"""Atomic output: write to a temp file beside the target, then rename. Never overwrite without force.

Special files that exist (``/dev/null``, a FIFO, a terminal) are written into, never replaced: the output is
built in a temp file and then copied into them, with no ``--force`` needed."""
from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from pathlib import Path

from .errors import ParamstatError


def is_special(path: str | os.PathLike) -> bool:
    """An existing character/block device or FIFO (e.g. /dev/null, /dev/stdout)."""
    try:
        m = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISCHR(m) or stat.S_ISBLK(m) or stat.S_ISFIFO(m)


def check_writable(path: str | os.PathLike, force: bool) -> Path:
    p = Path(path)
    if is_special(p):
        return p
    if p.is_dir():
        raise ParamstatError("output is a folder", path=str(p), hint="give a file name")
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
    if is_special(p):
        with tempfile.TemporaryDirectory(prefix="paramstat-") as d:
            tmp = Path(d) / p.name
            yield tmp
            with open(tmp, "rb") as src, open(p, "wb") as dst:
                shutil.copyfileobj(src, dst)
        return
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
