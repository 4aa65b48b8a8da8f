"""Self-contained HTML reports (one file, inline CSS/JS/SVG, nothing fetched): scan, compare and zoo pages.
Rendered from the result objects (the --json numbers); see docs/REPORTS.md."""
from __future__ import annotations


def write_scan_html(result, path, force: bool = False) -> None:
    from .page import write_page
    from .scan_page import scan_page

    write_page(path, scan_page(result), force=force)


def write_compare_html(result, path, force: bool = False) -> None:
    from .compare_page import compare_page
    from .page import write_page

    write_page(path, compare_page(result), force=force)


def write_zoo_html(checkpoints, path, tensors_by_checkpoint=None, force: bool = False, title: str | None = None) -> None:
    from .page import write_page
    from .zoo_page import zoo_page

    write_page(path, zoo_page(checkpoints, tensors_by_checkpoint, title=title), force=force)
