"""Atomic output: write to a temp file beside the target, then publish it. Never overwrite without force.

- The temp file is ``.NAME.paramstat-<host>-<pid>-<random>.tmp`` in the target's folder (``temp_name``),
  created with O_EXCL | O_NOFOLLOW, removed on any error, Ctrl-C or SIGTERM (``interrupt``). Temp files of
  runs that were killed (their pid is gone on this host, or older than ``STALE_HOURS``) are removed by the
  next run that writes into that folder (``clean_stale``); only names matching ``TEMP_RE`` are touched.
- Publishing without ``force`` is exclusive at the final step: ``os.link(tmp, target)`` fails if anything
  appeared at the target meanwhile (a file, a symlink, a dangling symlink), and the user's file is kept (exit 2).
  Where hard links are unsupported the target is created with O_CREAT | O_EXCL | O_NOFOLLOW and filled from
  the temp file. With ``force``: ``os.replace`` (a symlink at the target is replaced, its target untouched).
- Special files that exist (``/dev/null``, a FIFO, a terminal) are written into, never replaced: the output is
  built in a temp file and then copied into them, with no ``--force`` needed.
- Output errors (folder missing or read-only, permission denied, target is a folder, disk full) are one
  ``ParamstatError`` line (exit 2).
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import secrets
import shutil
import socket
import stat
import tempfile
import time
from pathlib import Path

from . import interrupt
from .errors import ParamstatError

STALE_HOURS = 24
TEMP_RE = re.compile(r"^\..*\.paramstat-(?P<host>[0-9a-f]{8})-(?P<pid>[0-9]+)-[0-9a-f]{8}\.tmp$", re.S)
_NO_HARDLINK = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.ENOSYS, errno.EXDEV,
                errno.EACCES}
_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def is_special(path: str | os.PathLike) -> bool:
    """An existing character/block device or FIFO (e.g. /dev/null, /dev/stdout); symlinks are followed."""
    try:
        m = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISCHR(m) or stat.S_ISBLK(m) or stat.S_ISFIFO(m)


def check_writable(path: str | os.PathLike, force: bool) -> Path:
    """Refuse, before any work, an output that exists (a dangling symlink counts) unless ``force``, a folder,
    or a missing parent folder. Special files pass."""
    p = Path(path)
    if is_special(p):
        return p
    if p.is_dir():
        raise ParamstatError("output is a folder", path=str(p), hint="give a file name")
    if os.path.lexists(p) and not force:
        what = "output exists (a symlink)" if p.is_symlink() else "output exists"
        raise ParamstatError(what, path=str(p), hint="pass --force to overwrite it")
    if not p.parent.is_dir():
        what = "output folder does not exist" if not os.path.lexists(p.parent) else "output folder is not a folder"
        raise ParamstatError(what, path=str(p.parent), hint="create it first")
    return p


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _host_tag() -> str:
    return hashlib.sha1(socket.gethostname().encode()).hexdigest()[:8]


def temp_name(name: str) -> str:
    """The temp file name for an output called ``name`` (matches ``TEMP_RE``)."""
    return f".{name[:180]}.paramstat-{_host_tag()}-{os.getpid()}-{secrets.token_hex(4)}.tmp"


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return True  # not a pid we wrote; leave it to the age rule
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def clean_stale(folder: str | os.PathLike, max_age_hours: float = STALE_HOURS) -> list[str]:
    """Remove paramstat temp files in ``folder`` left by killed runs: their pid is not alive on this host, or
    they are older than ``max_age_hours``. Only regular files whose name matches ``TEMP_RE``; never raises.
    Returns the names removed."""
    removed = []
    host, now = _host_tag(), time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for e in entries:
        m = TEMP_RE.match(e.name)
        if not m:
            continue
        try:
            st = e.stat(follow_symlinks=False)
            if not stat.S_ISREG(st.st_mode):
                continue
            pid = int(m["pid"])
            dead = m["host"] == host and pid != os.getpid() and not _pid_alive(pid)
            if dead or now - st.st_mtime > max_age_hours * 3600:
                os.unlink(e.path)
                removed.append(e.name)
        except OSError:
            continue
    return removed


def output_error(err: OSError, path: str | os.PathLike) -> ParamstatError:
    """One line for an OSError while creating or writing an output."""
    code = err.errno
    if code in _FULL:
        return ParamstatError(f"cannot write output: {os.strerror(code).lower()} (disk full or file size limit)",
                              path=str(path), hint="free space or write elsewhere")
    if code == errno.EROFS:
        return ParamstatError("cannot write output: the folder is on a read-only file system", path=str(path),
                              hint="write elsewhere")
    if code in (errno.EACCES, errno.EPERM):
        return ParamstatError("cannot write output: permission denied in its folder", path=str(path),
                              hint="write elsewhere or fix the folder's permissions")
    if code in (errno.ENOENT, errno.ENOTDIR):
        return ParamstatError("cannot write output: its folder does not exist", path=str(path),
                              hint="create it first")
    if code == errno.EISDIR:
        return ParamstatError("output is a folder", path=str(path), hint="give a file name")
    reason = os.strerror(code).lower() if code else str(err)
    return ParamstatError(f"cannot write output: {reason}", path=str(path))


def _create_temp(folder: Path, name: str) -> Path:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = folder / temp_name(name)
        try:
            os.close(os.open(tmp, flags, 0o600))
            return tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temp name", str(folder))


def _copy_exclusive(tmp: Path, target: Path) -> None:
    """Publish without hard links: create ``target`` only if nothing is there (O_EXCL, no symlink followed)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(target, flags, stat.S_IMODE(os.stat(tmp).st_mode))
    try:
        with open(tmp, "rb") as src, os.fdopen(fd, "wb", closefd=False) as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(target)
        raise
    os.close(fd)


def publish(tmp: Path, target: Path, force: bool) -> None:
    """Move the finished ``tmp`` to ``target``: exclusive without ``force`` (link, else O_EXCL copy), else
    ``os.replace``. A target that appeared meanwhile is kept and the run fails (exit 2)."""
    if force:
        os.replace(tmp, target)
        return
    try:
        try:
            os.link(tmp, target, follow_symlinks=False)
        except FileExistsError:
            raise
        except OSError as err:
            if err.errno not in _NO_HARDLINK:
                raise
            _copy_exclusive(tmp, target)
    except FileExistsError:
        raise ParamstatError("output appeared while paramstat was writing it; it was kept, nothing written",
                             path=str(target), hint="remove it or pass --force") from None
    os.unlink(tmp)


def _remove(path: Path) -> None:
    with interrupt.deferred(), contextlib.suppress(OSError):
        os.unlink(path)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, force: bool = False):
    """Yield a temp path in the target's folder; on success publish it at ``path``; on error remove it."""
    p = check_writable(path, force)
    if is_special(p):
        with tempfile.TemporaryDirectory(prefix="paramstat-") as d:
            tmp = Path(d) / p.name
            tmp.touch(0o600)  # both branches yield an existing empty file
            yield tmp
            interrupt.check()
            try:
                with open(tmp, "rb") as src, open(p, "wb") as dst:
                    shutil.copyfileobj(src, dst)
            except OSError as err:
                raise output_error(err, p) from None
        return
    clean_stale(p.parent)
    try:
        tmp = _create_temp(p.parent, p.name)
    except OSError as err:
        raise output_error(err, p) from None
    try:
        yield tmp
        interrupt.check()  # a Ctrl-C swallowed on the way never publishes
        try:
            os.chmod(tmp, 0o666 & ~_umask())  # created 0600; give the usual permissions
            publish(tmp, p, force)
        except OSError as err:
            raise output_error(err, p) from None
    except BaseException as err:
        _remove(tmp)
        if isinstance(err, OSError) and (err.errno in _FULL or err.errno in (errno.EROFS, errno.EISDIR)):
            raise output_error(err, p) from None
        raise


def write_text(path: str | os.PathLike, text: str, force: bool = False) -> None:
    with atomic_path(path, force) as tmp:
        Path(tmp).write_text(text)
