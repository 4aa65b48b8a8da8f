"""Ctrl-C and SIGTERM: end the run at once, clean up temp files, never publish an output, exit 128+signal.

``cli.main`` installs :func:`handler` for SIGINT and SIGTERM. It records the first signal and raises
:class:`Interrupted` (a KeyboardInterrupt, so every ``with``/``finally`` cleans up on the way out).

Why a plain KeyboardInterrupt was not enough: Python raises it in whatever Python code runs first after the
signal. During ``extract`` most time is spent inside h5py's C code (``create_dataset`` compresses and writes),
and the first Python code that runs afterwards is often a weakref callback (``WeakValueDictionary.remove``)
fired while h5py frees an object. An exception in a weakref callback cannot propagate: Python prints
``Exception ignored in ... KeyboardInterrupt`` and carries on, so the run finished, exited 0 and wrote the
output. Here the signal is also *recorded*: :func:`check` raises it again at safe points (each tensor written,
and just before an output is published in ``atomic``), and ``cli.main`` turns a recorded signal into exit
128+signal even when a command returned normally. The swallowed copy is not reported (``unraisable_hook``).
"""
from __future__ import annotations

import contextlib
import signal
import sys

_received: int | None = None  # first SIGINT/SIGTERM of this run
_deferred = 0                 # > 0 while cleaning up: record signals, raise nothing


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM received; ``exit_code`` is 128 + the signal number (130, 143)."""

    def __init__(self, signum: int = signal.SIGINT):
        super().__init__(signum)
        self.signum = signum
        self.exit_code = 128 + signum

    def describe(self) -> str:
        return "interrupted" if self.signum == signal.SIGINT else f"terminated ({signal.Signals(self.signum).name})"


def handler(signum, frame) -> None:
    global _received
    if _received is None:
        _received = signum
    if not _deferred:
        raise Interrupted(_received)


def received() -> int | None:
    """The signal number recorded in this run, or None."""
    return _received


def check() -> None:
    """Raise :class:`Interrupted` if a signal arrived (also one whose KeyboardInterrupt was swallowed)."""
    if _received is not None:
        raise Interrupted(_received)


@contextlib.contextmanager
def deferred():
    """Signals inside this block are recorded but raise nothing (cleanup must not be cut short)."""
    global _deferred
    _deferred += 1
    try:
        yield
    finally:
        _deferred -= 1


def unraisable_hook(unraisable) -> None:
    """Drop the report of an Interrupted swallowed by a weakref callback or ``__del__`` (it is recorded and
    raised again by :func:`check`); everything else goes to Python's default hook."""
    if _received is not None and unraisable.exc_type is not None \
            and issubclass(unraisable.exc_type, KeyboardInterrupt):
        return
    sys.__unraisablehook__(unraisable)


@contextlib.contextmanager
def installed():
    """Install the handlers for the duration of a CLI run (main thread only), then restore the old ones."""
    global _received
    _received = None
    sigs = (signal.SIGINT, signal.SIGTERM)
    try:
        old = {s: signal.signal(s, handler) for s in sigs}
    except ValueError:  # not the main thread: leave signals alone
        old = {}
    old_hook, sys.unraisablehook = sys.unraisablehook, unraisable_hook
    try:
        yield
    finally:
        sys.unraisablehook = old_hook
        for s, h in old.items():
            signal.signal(s, h)
