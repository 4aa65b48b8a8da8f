"""Runs paramstat's CLI on hostile cases in one process and records what each run did.

``python runner.py SPEC.json RESULTS.jsonl``: SPEC holds ``outside`` (a folder no run may open), ``out`` (where
``{out}`` outputs go), ``rss_limit`` (bytes) and ``runs`` ([{"case", "argv"}]). One JSON line per run is
appended to RESULTS as soon as the run ends: exit code, stdout and stderr (file-descriptor level, so HDF5's
C-level messages are caught too), seconds, peak RSS during the run, the files opened below ``outside``
(seen by an audit hook on ``open`` for Python-level opens and by inotify for opens from C libraries such
as HDF5), and ``os.system`` / ``subprocess`` / ``os.exec*`` / ``os.posix_spawn`` audit events (code a
checkpoint started). A watchdog ends the process (exit 3) if RSS passes ``rss_limit`` or a run passes
``time_limit`` seconds, after writing the run's line, so a regression cannot take the machine down.
"""
from __future__ import annotations

import ctypes
import json
import os
import struct
import sys
import tempfile
import threading
import time

IN_OPEN, IN_ACCESS, IN_NONBLOCK = 0x20, 0x01, 0o4000
EXEC_EVENTS = ("os.system", "subprocess.Popen", "os.exec", "os.posix_spawn", "os.spawn", "os.fork")


class Inotify:
    """Opens of files inside one folder by this process or any other (Linux inotify via libc)."""

    def __init__(self, folder: str):
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self.libc.inotify_init1(IN_NONBLOCK)
        self.ok = self.fd >= 0 and self.libc.inotify_add_watch(self.fd, folder.encode(), IN_OPEN | IN_ACCESS) >= 0

    def drain(self) -> list[str]:
        names = []
        while self.ok:
            try:
                buf = os.read(self.fd, 65536)
            except BlockingIOError:
                break
            i = 0
            while i + 16 <= len(buf):
                _wd, _mask, _cookie, n = struct.unpack_from("iIII", buf, i)
                names.append(buf[i + 16:i + 16 + n].rstrip(b"\0").decode(errors="replace") or ".")
                i += 16 + n
        return names


def rss() -> int:
    with open("/proc/self/statm", "rb") as f:   # not audited: the hook is told to skip /proc/self
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def main(spec_path: str, results_path: str) -> int:
    spec = json.load(open(spec_path))
    outside = os.path.realpath(spec["outside"])
    opened: list[str] = []
    execs: list[str] = []

    def hook(event, args):
        if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
            p = os.fsdecode(args[0])
            if not p.startswith("/proc/self"):
                try:
                    rp = os.path.realpath(p)
                except (OSError, ValueError):
                    rp = p
                if rp == outside or rp.startswith(outside + os.sep):
                    opened.append(rp)
        elif event.startswith(EXEC_EVENTS):
            execs.append(f"{event} {str(args)[:200]}")

    import platform

    platform.processor()   # cached: later calls (numpy, torch) would otherwise run `uname -p` once
    import torch  # noqa: F401  (its import probes libraries with `ldconfig -p`: before the hook, not a payload)
    sys.addaudithook(hook)
    watch = Inotify(outside)
    from paramstat.cli import main as cli_main

    state = {"peak": 0, "start": None, "line": None}
    limit, tlimit = int(spec["rss_limit"]), float(spec.get("time_limit", 120))
    out_f = open(results_path, "a")

    def watchdog():
        while True:
            time.sleep(0.02)
            r = rss()
            state["peak"] = max(state["peak"], r)
            over_t = state["start"] is not None and time.monotonic() - state["start"] > tlimit
            if r > limit or over_t:
                rec = dict(state["line"] or {}, killed="rss" if r > limit else "time", peak_rss=r,
                           seconds=time.monotonic() - (state["start"] or time.monotonic()))
                out_f.write(json.dumps(rec) + "\n")
                out_f.flush()
                os._exit(3)

    threading.Thread(target=watchdog, daemon=True).start()
    saved = os.dup(1), os.dup(2)
    for run in spec["runs"]:
        cap = tempfile.TemporaryFile(), tempfile.TemporaryFile()
        opened.clear(), execs.clear(), watch.drain()
        state.update(line=dict(run), peak=rss())
        sys.stdout.flush(), sys.stderr.flush()
        os.dup2(cap[0].fileno(), 1), os.dup2(cap[1].fileno(), 2)
        t0 = state["start"] = time.monotonic()
        try:
            rc = cli_main(run["argv"])
        except SystemExit as e:   # argparse errors
            rc = e.code if isinstance(e.code, int) else 2
        except BaseException as e:  # noqa: BLE001 - recorded as a failure of the case
            rc = f"escaped {type(e).__name__}: {e}"[:300]
        dt = time.monotonic() - t0
        state["start"] = None
        sys.stdout.flush(), sys.stderr.flush()
        os.dup2(saved[0], 1), os.dup2(saved[1], 2)
        texts = []
        for f in cap:
            f.seek(0)
            texts.append(f.read().decode(errors="replace"))
            f.close()
        rec = dict(state["line"], rc=rc, stdout=texts[0][-20000:], stderr=texts[1][-20000:], seconds=dt,
                   peak_rss=state["peak"], opened=sorted(set(opened)), inotify=sorted(set(watch.drain())),
                   inotify_ok=watch.ok,
                   execs=list(execs))
        out_f.write(json.dumps(rec) + "\n")
        out_f.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
