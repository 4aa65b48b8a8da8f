"""Hostile conditions on the OUTPUT side (issue 14), with real `paramstat extract` processes.

- a file or a dangling symlink appearing at the target while extract runs is kept, the run exits 2;
- a dangling symlink at the target is refused without --force, replaced (not followed) with it;
- SIGINT / SIGTERM end the run quickly with 130 / 143 and one line, leaving no temp file and no output;
- kill -9 leaves a temp file that the next run writing into the folder removes (and nothing else);
- read-only folder, missing folder, folder as target, file size limit, /dev/full: one line, exit 2.

The slow checkpoint is a real ~200 MB safetensors file built in the test's tmp dir (50 tensors of 1M float32;
extract takes 5-13 s on 2 shared cores), so the signals arrive while h5py is compressing and writing.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from paramstat.atomic import TEMP_RE

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX signals, links and FIFOs")


def write_safetensors(path: Path, n_tensors: int, per_tensor: int, seed: int = 0) -> Path:
    """A plain safetensors file (8-byte header length, JSON header, raw little-endian float32 data)."""
    header, off = {}, 0
    for i in range(n_tensors):
        header[f"layer{i}.weight"] = {"dtype": "F32", "shape": [per_tensor // 256, 256],
                                      "data_offsets": [off, off + per_tensor * 4]}
        off += per_tensor * 4
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    rng = np.random.default_rng(seed)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for _ in range(n_tensors):
            f.write(rng.standard_normal(per_tensor, dtype=np.float32).tobytes())
    return path


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> Path:
    """~200 MB: 50 tensors of 2^20 float32."""
    return write_safetensors(tmp_path_factory.mktemp("big") / "big.safetensors", 50, 1 << 20)


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    return write_safetensors(tmp_path_factory.mktemp("small") / "small.safetensors", 3, 4096)


def _env() -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("PARAMSTAT_PROGRESS", None)
    return env


def extract(*args, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "paramstat", "extract", *map(str, args)], env=_env(),
                          capture_output=True, text=True, timeout=300, **kw)


def start_extract(src: Path, out: Path, *extra) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "paramstat", "extract", str(src), "-o", str(out), *extra],
                            env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def temps(folder: Path) -> list[str]:
    return sorted(n for n in os.listdir(folder) if TEMP_RE.match(n))


def wait_for_temp(folder: Path, proc: subprocess.Popen, min_bytes: int = 1 << 20, timeout: float = 120) -> str:
    """Block until the run's temp file exists and holds ``min_bytes`` (h5py is writing tensors)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        assert proc.poll() is None, proc.communicate()
        for n in temps(folder):
            try:
                if os.path.getsize(folder / n) >= min_bytes:
                    return n
            except FileNotFoundError:
                pass
        time.sleep(0.05)
    raise AssertionError("no temp file appeared")


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


# --- races at the final step -------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("kind", ["file", "dangling_symlink"])
def test_target_appearing_during_the_run_is_kept(big, tmp_path, kind):
    out = tmp_path / "out.h5"
    proc = start_extract(big, out)
    wait_for_temp(tmp_path, proc)
    if kind == "file":
        out.write_text("the user's own file")
    else:
        os.symlink(tmp_path / "nowhere", out)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 2
    assert "appeared while paramstat was writing" in one_line(err)
    if kind == "file":
        assert out.read_text() == "the user's own file"
    else:
        assert out.is_symlink() and not (tmp_path / "nowhere").exists()
    assert temps(tmp_path) == []


def test_dangling_symlink_refused_without_force_replaced_with_force(small, tmp_path):
    out = tmp_path / "out.h5"
    os.symlink(tmp_path / "nowhere", out)
    r = extract(small, "-o", out)
    assert r.returncode == 2 and "output exists (a symlink)" in one_line(r.stderr)
    assert out.is_symlink() and not (tmp_path / "nowhere").exists()
    r = extract(small, "-o", out, "--force")
    assert r.returncode == 0, r.stderr
    assert not out.is_symlink() and out.read_bytes()[:8] == b"\x89HDF\r\n\x1a\n"
    assert not (tmp_path / "nowhere").exists()  # the link was replaced, never followed
    assert temps(tmp_path) == []


def test_symlink_to_a_file_is_never_written_through(small, tmp_path):
    victim = tmp_path / "victim.h5"
    victim.write_text("keep me")
    out = tmp_path / "out.h5"
    os.symlink(victim, out)
    assert extract(small, "-o", out).returncode == 2
    assert extract(small, "-o", out, "--force").returncode == 0
    assert victim.read_text() == "keep me" and not out.is_symlink()


# --- signals -----------------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("sig,code,word", [(signal.SIGINT, 130, "interrupted"),
                                           (signal.SIGTERM, 143, "terminated (SIGTERM)")])
def test_signal_ends_the_run_with_no_temp_and_no_output(big, tmp_path, sig, code, word):
    out = tmp_path / "out.h5"
    proc = start_extract(big, out)
    wait_for_temp(tmp_path, proc)
    t0 = time.monotonic()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    took = time.monotonic() - t0
    assert proc.returncode == code, err
    assert one_line(err) == f"paramstat extract: {word}"
    assert not out.exists() and temps(tmp_path) == []
    assert took < 15, took  # one tensor at most (0.6-0.8 s measured under load 13)


@pytest.mark.slow
def test_kill9_leaves_a_stale_temp_that_the_next_run_removes(big, small, tmp_path):
    out = tmp_path / "out.h5"
    proc = start_extract(big, out)
    stale = wait_for_temp(tmp_path, proc)
    proc.kill()
    proc.wait(timeout=60)
    assert temps(tmp_path) == [stale]  # kill -9 cannot clean up
    bystanders = [".out.h5.abcd1234.tmp",                                        # not our pattern
                  "out.h5.paramstat-00000000-1-0123abcd.tmp",                    # no leading dot
                  f".x.paramstat-{TEMP_RE.match(stale)['host']}-{os.getpid()}-0123abcd.tmp"]  # a live pid (this test)
    for n in bystanders:
        (tmp_path / n).write_text("not stale")
    r = extract(small, "-o", tmp_path / "next.h5")
    assert r.returncode == 0, r.stderr
    assert stale not in os.listdir(tmp_path)
    assert sorted(n for n in os.listdir(tmp_path) if n.endswith(".tmp")) == sorted(bystanders)
    assert (tmp_path / "next.h5").exists() and not out.exists()


# --- output errors: one line, exit 2 -----------------------------------------------------------------------

def _read_only_run(folder: Path, args: list[str]) -> subprocess.CompletedProcess:
    """Run paramstat with ``folder`` read-only: chmod for a normal user; root ignores modes, so a read-only
    bind mount in a private mount namespace (unshare -m) is used there."""
    cmd = [sys.executable, "-m", "paramstat", *args]
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            return subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=300)
        finally:
            folder.chmod(0o755)
    if shutil.which("unshare") is None:
        pytest.skip("root without unshare: cannot make a read-only folder")
    script = ('mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" "$0" || exit 99; exec "$@"')
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script, str(folder), *cmd],
                       env=_env(), capture_output=True, text=True, timeout=300)
    if r.returncode == 99 or "unshare failed" in r.stderr:
        pytest.skip(f"no private read-only mount here: {r.stderr.strip()}")
    return r


def test_read_only_folder(small, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    r = _read_only_run(ro, ["extract", str(small), "-o", str(ro / "out.h5")])
    assert r.returncode == 2, r.stderr
    assert "cannot write output" in one_line(r.stderr)
    assert os.listdir(ro) == []


def test_missing_folder_and_folder_as_target(small, tmp_path):
    r = extract(small, "-o", tmp_path / "no" / "out.h5")
    assert r.returncode == 2 and "output folder does not exist" in one_line(r.stderr)
    (tmp_path / "d.h5").mkdir()
    r = extract(small, "-o", tmp_path / "d.h5", "--force")
    assert r.returncode == 2 and "output is a folder" in one_line(r.stderr)


def _file_size_limit():
    import resource

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() then fails with EFBIG instead of killing
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))


@pytest.mark.slow
def test_file_size_limit_is_one_line_and_leaves_no_temp(big, tmp_path):
    r = extract(big, "-o", tmp_path / "out.h5", preexec_fn=_file_size_limit)
    assert r.returncode == 2, r.stderr
    assert "cannot write output: file too large" in one_line(r.stderr)
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_disk_full_is_one_line(small, tmp_path):
    r = extract(small, "-o", "/dev/full")
    assert r.returncode == 2, r.stderr
    assert "no space left on device" in one_line(r.stderr)
