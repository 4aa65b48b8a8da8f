"""One progress bar style for every long job (rich, on stderr so --json - keeps stdout clean)."""
from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def track(items: Iterable[T], total: int | None = None, description: str = "working", enabled: bool = True,
          ) -> Iterator[T]:
    """Yield from ``items`` while showing a rich progress bar on stderr (only when stderr is a terminal
    or PARAMSTAT_PROGRESS=1)."""
    import os

    show = enabled and (sys.stderr.isatty() or os.environ.get("PARAMSTAT_PROGRESS") == "1")
    if not show:
        yield from items
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=Console(stderr=True), transient=True) as prog:
        task = prog.add_task(description, total=total)
        for it in items:
            yield it
            prog.advance(task)
