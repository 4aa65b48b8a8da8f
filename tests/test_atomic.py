"""Atomic outputs: temp file + rename, refuse to overwrite without force, usual permissions."""
import os
import stat

import pytest

from paramstat.atomic import atomic_path, write_text
from paramstat.errors import ParamstatError


def test_write_refuses_overwrite_without_force(tmp_path):
    p = tmp_path / "out.json"
    write_text(p, "one")
    with pytest.raises(ParamstatError, match="output exists.*--force"):
        write_text(p, "two")
    assert p.read_text() == "one"
    write_text(p, "two", force=True)
    assert p.read_text() == "two"


def test_failed_write_leaves_no_file_and_no_temp(tmp_path):
    p = tmp_path / "out.bin"
    with pytest.raises(RuntimeError), atomic_path(p) as tmp:
        tmp.write_bytes(b"partial")
        raise RuntimeError("boom")
    assert not p.exists() and list(tmp_path.iterdir()) == []


def test_permissions_follow_umask(tmp_path):
    old = os.umask(0o022)
    try:
        p = tmp_path / "x.txt"
        write_text(p, "x")
        assert stat.S_IMODE(p.stat().st_mode) == 0o644
    finally:
        os.umask(old)


def test_special_files_are_written_into_not_replaced(tmp_path):
    import os
    import stat
    import threading

    write_text("/dev/null", "x" * 1000)  # no --force needed, and /dev/null stays a device
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    t = threading.Thread(target=lambda: got.append(open(fifo).read()))
    t.start()
    write_text(fifo, "hello fifo")
    t.join(5)
    assert got == ["hello fifo"] and stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_folder_as_output_is_refused(tmp_path):
    with pytest.raises(ParamstatError, match="is a folder"):
        write_text(tmp_path, "x", force=True)


# --- issue 14: exclusive publish, symlinks, paramstat's own temp names, stale temps, output errors ---------

def test_file_appearing_at_the_target_during_the_write_is_kept(tmp_path):
    from paramstat.atomic import TEMP_RE

    p = tmp_path / "out.json"
    with pytest.raises(ParamstatError, match="appeared while paramstat was writing"), atomic_path(p) as tmp:
        assert TEMP_RE.match(tmp.name) and tmp.parent == tmp_path
        tmp.write_text("ours")
        p.write_text("the user's")  # created after the start check, before the publish
    assert p.read_text() == "the user's" and os.listdir(tmp_path) == ["out.json"]
    with atomic_path(p, force=True) as tmp:  # --force replaces it
        tmp.write_text("ours")
    assert p.read_text() == "ours"


def test_without_hard_links_publish_is_still_exclusive(tmp_path, monkeypatch):
    import errno

    def no_link(*a, **k):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_link)
    p = tmp_path / "out.txt"
    write_text(p, "via O_EXCL")
    assert p.read_text() == "via O_EXCL" and os.listdir(tmp_path) == ["out.txt"]
    q = tmp_path / "q.txt"
    with pytest.raises(ParamstatError, match="appeared"), atomic_path(q) as tmp:
        tmp.write_text("ours")
        os.symlink(tmp_path / "nowhere", q)  # a dangling symlink appears: O_EXCL|O_NOFOLLOW refuses it
    assert q.is_symlink() and not (tmp_path / "nowhere").exists()
    assert sorted(os.listdir(tmp_path)) == ["out.txt", "q.txt"]


def test_dangling_symlink_counts_as_existing(tmp_path):
    p = tmp_path / "out.json"
    os.symlink(tmp_path / "nowhere", p)
    with pytest.raises(ParamstatError, match="output exists .a symlink.*--force"):
        write_text(p, "x")
    write_text(p, "x", force=True)
    assert not p.is_symlink() and p.read_text() == "x" and not (tmp_path / "nowhere").exists()


def _dead_pid() -> int:
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_clean_stale_removes_only_paramstat_temps_of_dead_or_old_runs(tmp_path):
    import time

    from paramstat.atomic import _host_tag, clean_stale

    host, dead = _host_tag(), _dead_pid()
    names = {
        f".a.h5.paramstat-{host}-{dead}-0123abcd.tmp": True,             # dead pid on this host
        f".b.h5.paramstat-{host}-{os.getpid()}-0123abcd.tmp": False,     # this (live) process
        f".c.h5.paramstat-{host}-1-0123abcd.tmp": False,                 # live pid 1
        f".d.h5.paramstat-ffffffff-{dead}-0123abcd.tmp": False,          # other host: only the age rule
        f".e.h5.paramstat-ffffffff-{dead}-0123abcd.tmp": True,           # other host, 25 h old
        ".f.h5.k3j2h1g0.tmp": False,                                     # old mkstemp name: not ours
        f"g.h5.paramstat-{host}-{dead}-0123abcd.tmp": False,             # no leading dot: not ours
        f".h.h5.paramstat-{host}-{dead}-0123abcd.tmp.keep": False,       # does not end in .tmp
    }
    for n in names:
        (tmp_path / n).write_text("x")
    old = time.time() - 25 * 3600
    os.utime(tmp_path / f".e.h5.paramstat-ffffffff-{dead}-0123abcd.tmp", (old, old))
    (tmp_path / f".i.paramstat-{host}-{dead}-0123abcd.tmp").mkdir()     # a folder: never removed
    os.symlink("/etc/hostname", tmp_path / f".j.paramstat-{host}-{dead}-0123abcd.tmp")  # a link: kept
    removed = clean_stale(tmp_path)
    assert sorted(removed) == sorted(n for n, gone in names.items() if gone)
    left = set(os.listdir(tmp_path))
    assert left == {n for n, gone in names.items() if not gone} | {
        f".i.paramstat-{host}-{dead}-0123abcd.tmp", f".j.paramstat-{host}-{dead}-0123abcd.tmp"}


def test_output_errors_are_one_paramstat_error(tmp_path, monkeypatch):
    import errno

    from paramstat import atomic

    real_open = os.open

    def deny(path, *a, **k):
        if str(path).startswith(str(tmp_path)):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, *a, **k)

    monkeypatch.setattr(atomic.os, "open", deny)
    with pytest.raises(ParamstatError, match="permission denied"):
        write_text(tmp_path / "x.json", "x")
    monkeypatch.undo()
    with pytest.raises(ParamstatError, match="output folder does not exist"):
        write_text(tmp_path / "missing" / "x.json", "x")
    if os.path.exists("/dev/full"):
        with pytest.raises(ParamstatError, match="no space left on device"):
            write_text("/dev/full", "x" * 100_000)
