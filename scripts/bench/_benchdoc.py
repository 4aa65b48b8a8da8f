"""Shared by scripts/bench/bench_*.py: replace one named section of docs/BENCHMARKS.md (atomic write)."""
from __future__ import annotations

import datetime
import os
import platform
import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "BENCHMARKS.md"
HEADER = "# Benchmarks\n\nEach section is written by its script in `scripts/bench/`; rerun the script to refresh it.\n"


def machine_line() -> str:
    import psutil

    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"{psutil.virtual_memory().total / 2**30:.0f} GiB, Python {platform.python_version()}, "
            f"{datetime.date.today().isoformat()}")


def replace_section(doc: Path, tag: str, name: str, markdown: str, header: str) -> None:
    """Replace (or append) the block between <!-- TAG:NAME --> and <!-- /TAG:NAME --> of ``doc``, atomically."""
    text = doc.read_text() if doc.exists() else header
    block = f"<!-- {tag}:{name} -->\n{markdown.rstrip()}\n<!-- /{tag}:{name} -->"
    pat = re.compile(rf"<!-- {tag}:{re.escape(name)} -->.*?<!-- /{tag}:{re.escape(name)} -->", re.S)
    text = pat.sub(lambda _: block, text) if pat.search(text) else text.rstrip() + "\n\n" + block + "\n"
    tmp = doc.with_suffix(".md.tmp")
    tmp.write_text(text)
    os.replace(tmp, doc)


def update_section(name: str, markdown: str) -> None:
    """Replace (or append) the block between <!-- bench:NAME --> and <!-- /bench:NAME --> of docs/BENCHMARKS.md."""
    replace_section(DOC, "bench", name, markdown, HEADER)
