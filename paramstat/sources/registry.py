"""The file readers, by name: a dict filled by the ``@register_reader`` decorator (the timm
``register_model`` idea) and small named lookups that every caller uses.

A reader is ``read(p, s, ctx) -> Checkpoint`` for a file ``p`` the user named ``s``; it registers the
extensions it claims and a sniff predicate (paramstat.sources.detect) for files with no known extension.
``reader_for_path`` picks by extension (the longest that matches), else the first reader, in
``sniff_order``, whose sniff accepts the file; ``read_file`` adds the checks every reader shares
(unknown type, empty file) and the sniffing warning.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ParamstatError
from ..formats import SUPPORTED
from ..record import Checkpoint


@dataclass
class ReadContext:
    """What the caller adds to a file: an architecture's roles and key order, provenance to merge,
    warnings so far, whether pickles may run code, whether to hash the file."""
    roles: dict | None = None
    order: list[str] | None = None
    prov: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    trust_pickle: bool = False
    hash: bool = True


@dataclass(frozen=True)
class Reader:
    name: str
    read: Callable[[Path, str, ReadContext], Checkpoint]
    extensions: tuple[str, ...] = ()
    sniff: Callable[[Path], bool] | None = None
    sniff_order: int = 100


_READERS: dict[str, Reader] = {}


def register_reader(name: str, *, extensions: tuple[str, ...] = (), sniff: Callable[[Path], bool] | None = None,
                    sniff_order: int = 100):
    """Decorator: register ``read`` under ``name`` for ``extensions`` (lower case, with the dot) and ``sniff``
    (tried in increasing ``sniff_order`` for files without a known extension)."""
    def deco(read):
        if name in _READERS:
            raise ValueError(f"reader {name!r} registered twice")
        _READERS[name] = Reader(name, read, tuple(extensions), sniff, sniff_order)
        return read
    return deco


def _registry() -> dict[str, Reader]:
    return _READERS   # filled when paramstat.sources imports its readers package


def reader_names() -> list[str]:
    """Names of the registered readers."""
    return list(_registry())


def get_reader(name: str) -> Reader:
    return _registry()[name]


def reader_by_extension(p: Path) -> Reader | None:
    n = p.name.lower()
    best: tuple[int, Reader] | None = None
    for r in _registry().values():
        for ext in r.extensions:
            if n.endswith(ext) and (best is None or len(ext) > best[0]):
                best = (len(ext), r)
    return best[1] if best else None


def reader_for_path(p: Path) -> tuple[Reader | None, bool]:
    """(reader, sniffed): by extension, else by sniffing the file's first bytes (None when no reader fits)."""
    r = reader_by_extension(p)
    if r is not None:
        return r, False
    for r in sorted(_registry().values(), key=lambda r: r.sniff_order):
        if r.sniff is not None and r.sniff(p):
            return r, True
    return None, False


def is_readable(p) -> bool:
    """A file some reader claims by its extension (what a folder's weights files are)."""
    return reader_by_extension(Path(p)) is not None


def read_file(p: Path, s: str, ctx: ReadContext) -> Checkpoint:
    """One file through its reader (see the module docstring); ``s`` names it in messages."""
    reader, sniffed = reader_for_path(p)
    if reader is None:
        raise ParamstatError(f"unknown file type '{p.suffix or p.name}'", path=s, hint=f"paramstat reads {SUPPORTED}")
    if sniffed:
        ctx.warnings = list(ctx.warnings) + [f"unrecognised extension; read as {reader.name} by its magic bytes"]
    if p.stat().st_size == 0:
        raise ParamstatError("empty file (0 bytes)", path=s, hint="re-download it or check that the copy finished")
    return reader.read(p, s, ctx)
