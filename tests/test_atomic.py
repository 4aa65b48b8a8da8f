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
