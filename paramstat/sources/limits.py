"""Resource bounds for untrusted files, checked before anything is allocated (docs/SECURITY.md).

- ``max_tensor_bytes``: no single tensor, zip member (``.keras``, npz, torch zip) or HDF5 dataset may
  declare more bytes than this (default: 8 GiB, or a quarter of the machine's RAM when that is less;
  ``--max-tensor-bytes`` on the command line, ``PARAMSTAT_MAX_TENSOR_BYTES`` in the environment).
- ``MAX_TENSORS``: at most this many tensors in one checkpoint (250,000: mixture-of-experts checkpoints with
  hundreds of experts hold around 10^5; a header of 900k empty tensors is refused in seconds instead of
  being walked for minutes: each tensor costs ~0.1 ms of bookkeeping).
- ``MAX_OBJECTS``: at most this many containers walked when a pickled checkpoint is unwrapped.
- ``MAX_DEPTH``: nesting deeper than this (JSON headers, pickled dicts) is refused.

The settings are process-wide (the CLI sets them while parsing its options; ``load(...,
max_tensor_bytes=, allow_external=)`` for one call); every reader asks ``current()``.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass, replace

from ..errors import ParamstatError

GIB = 1 << 30
MAX_TENSORS = 250_000
MAX_OBJECTS = 2_000_000
MAX_DEPTH = 200
FLAG = "--max-tensor-bytes"


def _ram_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def default_max_tensor_bytes() -> int:
    """8 GiB, or a quarter of the RAM when that is less (``PARAMSTAT_MAX_TENSOR_BYTES`` overrides)."""
    env = os.environ.get("PARAMSTAT_MAX_TENSOR_BYTES")
    if env:
        try:
            return parse_bytes(env)
        except ValueError:
            pass
    ram = _ram_bytes()
    return min(8 * GIB, ram // 4) if ram else 8 * GIB


@dataclass(frozen=True)
class Limits:
    max_tensor_bytes: int
    allow_external: bool = False


_current: Limits | None = None


def current() -> Limits:
    global _current
    if _current is None:
        _current = Limits(default_max_tensor_bytes())
    return _current


def configure(**kw) -> None:
    """Set the process-wide limits (keyword: max_tensor_bytes, allow_external; None keeps the value)."""
    global _current
    _current = replace(current(), **{k: v for k, v in kw.items() if v is not None})


@contextmanager
def using(**kw):
    """The limits changed for one block (load(..., max_tensor_bytes=...))."""
    global _current
    old = current()
    configure(**kw)
    try:
        yield current()
    finally:
        _current = old


def parse_bytes(s: str) -> int:
    """'8G', '512MiB', '1e9', '4096' -> bytes (K/M/G/T are powers of 1024)."""
    t = str(s).strip().upper().removesuffix("IB").removesuffix("B")
    mult = 1
    for suf, m in (("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30), ("T", 1 << 40)):
        if t.endswith(suf):
            t, mult = t[:-1], m
            break
    v = float(t) * mult
    if not v > 0 or v != v:
        raise ValueError(f"not a positive size: {s!r}")
    return int(v)


def human(n: int) -> str:
    for unit, m in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= m:
            return f"{n / m:.1f} {unit}"
    return f"{n} B"


def check_bytes(nbytes: int, what: str, path: str) -> None:
    """Refuse ``what`` (a tensor, a zip member ...) declaring more than the limit, naming the flag."""
    lim = current().max_tensor_bytes
    if nbytes > lim:
        raise ParamstatError(f"{what} declares {human(nbytes)}, over the limit of {human(lim)}", path=path,
                             hint=f"raise it with {FLAG} (e.g. {FLAG} 32G) only if the file is trusted and "
                                  "the machine has the memory")


def check_count(n: int, path: str) -> None:
    if n > MAX_TENSORS:
        raise ParamstatError(f"{n:,} tensors, over paramstat's limit of {MAX_TENSORS:,}", path=path,
                             hint="a checkpoint this large is refused as hostile (see docs/SECURITY.md)")


def numel(shape) -> int:
    n = 1
    for s in shape:
        n *= int(s)
    return n


def cli_max_tensor_bytes(value: str) -> int:
    """argparse ``type`` of ``--max-tensor-bytes``: applied to the default ('auto') too, so every parse sets
    the process-wide limit (a value from an earlier in-process run never lingers)."""
    import argparse

    try:
        n = default_max_tensor_bytes() if value == "auto" else parse_bytes(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"expected a size such as 8G, 512M or 1e9, got {value!r}") from e
    configure(max_tensor_bytes=n)
    return n


def cli_allow_external(value: str) -> bool:
    """argparse ``type`` of ``--allow-external`` (bare flag = 'yes', default 'no'; applied on every parse)."""
    import argparse

    v = value.strip().lower()
    if v not in ("yes", "no", "true", "false", "1", "0"):
        raise argparse.ArgumentTypeError(f"expected yes or no, got {value!r}")
    configure(allow_external=v in ("yes", "true", "1"))
    return v in ("yes", "true", "1")
