"""A headless Chromium (Debian's `chromium` + `chromium-driver`, driven by Selenium) that opens the report
pages: for the browser tests (console errors, network requests, layout) and the screenshots of
docs/REPORTS.md. Nothing here runs unless asked: `paramstat` itself never needs a browser."""
from __future__ import annotations

import shutil
import time
from pathlib import Path

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
        time.sleep(0.2)
        quiet = quiet + 1 if not drv.get_log("performance") else 0
    return drv


def screenshot(drv, page: Path, png: Path, max_height: int, width: int = 1280) -> int:
    """Open ``page`` and save a full-page screenshot (at most ``max_height`` pixels tall); returns the height."""
    drv.set_window_size(width, 1000)
    drv.get(Path(page).resolve().as_uri())
    h = min(int(drv.execute_script("return document.documentElement.scrollHeight")), max_height)
    drv.set_window_size(width, h)
    drv.save_screenshot(str(png))
    return h
