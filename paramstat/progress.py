"""One progress bar style for every long job (rich, on stderr so --json - keeps stdout clean)."""
from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
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


def _shown(enabled: bool) -> bool:
    import os

    return enabled and (sys.stderr.isatty() or os.environ.get("PARAMSTAT_PROGRESS") == "1")


class _Counter:
    """Counts shown beside the bar ('done 12 · failed 1 · skipped 30'); advance() moves the bar."""

    def __init__(self, prog, task, names):
        self.prog, self.task = prog, task
        self.counts = {n: 0 for n in names}

    def advance(self, name: str, n: int = 1, move: bool = True) -> None:
        self.counts[name] = self.counts.get(name, 0) + n
        if self.prog is not None:
            text = " · ".join(f"{k} {v}" for k, v in self.counts.items())
            self.prog.update(self.task, advance=n if move else 0, counts=text)


@contextmanager
def counting(total: int, description: str = "working", names=("done", "failed"), enabled: bool = True):
    """A rich bar on stderr with named counters and ETA, for jobs whose items finish out of order
    (shown under the same rule as :func:`track`). Yields a counter with ``advance(name)``."""
    if not _shown(enabled):
        yield _Counter(None, None, names)
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[counts]}"), TimeElapsedColumn(), TextColumn("ETA"),
                  TimeRemainingColumn(), console=Console(stderr=True), transient=True) as prog:
        task = prog.add_task(description, total=total, counts="")
        yield _Counter(prog, task, names)
