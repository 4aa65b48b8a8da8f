"""One pass over a file's bytes: the provenance sha256 fed by the same sequential reads that feed the
analysis (no second full read).

A :class:`FileDigest` knows the byte spans of a file's tensors. ``reader(begin, count, dtype, shape)``
returns a tensor's read function: it reads the span with one ``readinto`` into a fresh array, hands the
bytes to sha256 (``hashlib`` releases the GIL, so the hashing runs on a worker thread while the caller
analyses the tensor; at most one tensor is queued, so memory stays at one extra reference to the array
being analysed) and asks the kernel to read the next span ahead (``posix_fadvise WILLNEED``: no memory of
ours). Reads that arrive in byte order (``sequence``: the records in data-offset order) cover the file
once; ``hexdigest()`` hashes what no read covered (the tail after the last tensor) and returns the file's
sha256, equal to ``build.sha256_file``. A read out of byte order (another consumer, a re-read) stops the
running hash and ``hexdigest()`` falls back to one full read (``sha256_file``): correct, never faster than
before.
``reader(..., widen=True)`` of a bf16 tensor (raw uint16) reads it in chunks into a float32 array
(``read_widened``) and returns the stored bits as that array's upper halves (stats.floatpass.high_bits): the
values the analysis needs without a second tensor-sized array.
"""
from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import numpy as np

CHUNK = 1 << 24          # bytes per read of the parts no tensor covers (the header, gaps, the tail)
MAX_GAP = 1 << 20        # a forward jump up to this many bytes is read and hashed; a larger one breaks the pass


class FileDigest:
    """sha256 of ``path`` computed from its tensors' sequential reads (module doc)."""

    def __init__(self, path: str | Path, spans: list[tuple[int, int]] | None = None):
        self.path = str(path)
        self.size = os.path.getsize(self.path)
        self._h = hashlib.sha256()
        self._pos = 0                 # bytes [0, pos) hashed (or queued) in order
        self._broken = False
        self._pool = None
        self._pending = None
        self._next = sorted(spans or [])   # begin offsets, for read-ahead
        self.reads = 0                # bytes read by tensor reads (for tests and benchmarks)

    # -- hashing in order
    def _wait(self):
        if self._pending is not None:
            self._pending.result()
            self._pending = None

    def _feed(self, buf) -> None:
        """Hash ``buf`` (the bytes at self._pos) on the worker thread, at most one job in flight."""
        self._wait()
        if len(memoryview(buf).cast("B")) < (1 << 20):
            self._h.update(buf)
            return
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(1, thread_name_prefix="paramstat-sha256")
        self._pending = self._pool.submit(self._h.update, buf)

    def _hash_range(self, f, end: int) -> None:
        """Read and hash [pos, end) (parts no tensor covers)."""
        f.seek(self._pos)
        while self._pos < end:
            b = f.read(min(CHUNK, end - self._pos))
            if not b:
                break
            self._feed(b)
            self._pos += len(b)

    def _read_ahead(self, fd: int, after: int) -> None:
        if not hasattr(os, "posix_fadvise"):
            return
        import bisect

        i = bisect.bisect_left(self._next, (after,))
        if i < len(self._next):
            b, e = self._next[i]
            try:
                os.posix_fadvise(fd, b, e - b, os.POSIX_FADV_WILLNEED)
            except OSError:
                pass

    # -- the tensors' readers
    def reader(self, begin: int, count: int, dtype: str, shape: tuple[int, ...], bf16: bool = False):
        """Read function of the tensor of ``count`` values of numpy ``dtype`` stored at byte ``begin``;
        ``bf16``: the uint16 values are bf16 bits (``read(widen=True)`` then widens them)."""
        dt = np.dtype(dtype)
        shape = tuple(int(s) for s in shape)

        def read(widen: bool = False) -> np.ndarray:
            if widen and bf16 and sys.byteorder == "little":
                from ..stats.floatpass import high_bits

                return high_bits(self._read(begin, count, dt, widen=True)).reshape(shape)
            return self._read(begin, count, dt).reshape(shape)
        read.widens = True
        return read

    def _read(self, begin: int, count: int, dt: np.dtype, widen: bool = False) -> np.ndarray:
        nbytes = count * dt.itemsize
        with open(self.path, "rb") as f:
            if not self._broken and self._pos <= begin <= self._pos + MAX_GAP:
                self._hash_range(f, begin)
            elif not self._broken:
                self._broken = True
            f.seek(begin)
            in_order = not self._broken and self._pos == begin
            if widen:
                out = read_widened(f, count, self._feed if in_order else None)
            else:
                out = np.empty(count, dtype=dt)
                got = f.readinto(memoryview(out).cast("B")) if nbytes else 0
                if got != nbytes:
                    raise EOFError(f"{nbytes} bytes expected at offset {begin}, {got} read")
                if in_order:
                    self._feed(out)
            self.reads += nbytes
            if in_order:
                self._pos = begin + nbytes
            self._read_ahead(f.fileno(), begin + nbytes)
        return out

    def hexdigest(self) -> str:
        """The file's sha256: the running hash completed with the bytes no read covered, or (after a read
        out of byte order) one full read."""
        self._wait()
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        if self._broken:
            from .build import sha256_file

            return sha256_file(self.path)
        with open(self.path, "rb") as f:
            self._hash_range(f, self.size)
        self._wait()
        return self._h.hexdigest()


WIDEN_CHUNK = 1 << 22    # bf16 values per read of a widened read (8 MiB of bits)


def read_widened(f, count: int, feed=None) -> np.ndarray:
    """``count`` bf16 values from the file position of ``f`` as float32 bits (uint32, ``v << 16``), read
    WIDEN_CHUNK values at a time into two alternating buffers; ``feed`` (the running hash) gets each chunk
    of stored bytes in order. ``feed`` may hash on a thread with at most one job in flight (FileDigest._feed
    waits for the previous job first), so a buffer is reused only after its hash has finished: the hash of
    one chunk overlaps the read and widening of the next."""
    from ..stats.floatpass import widen_chunk

    chunk = WIDEN_CHUNK
    out = np.empty(count, dtype=np.uint32)
    bufs = [np.empty(min(chunk, count), dtype=np.uint16) for _ in range(2 if count > chunk else 1)]
    for j, lo in enumerate(range(0, count, chunk)):
        b = bufs[j % len(bufs)][: min(chunk, count - lo)]
        got = f.readinto(memoryview(b).cast("B"))
        if got != b.nbytes:
            raise EOFError(f"{2 * count} bytes expected, {2 * lo + got} read")
        if feed is not None:
            feed(b)
        widen_chunk(b, out[lo: lo + b.size])
    return out  # a hash still running holds its own reference to the last buffer
