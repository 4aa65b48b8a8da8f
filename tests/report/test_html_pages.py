"""HTML reports without a browser: self-contained (nothing to fetch), the figures and tables carry the
numbers of the result's JSON, the CLI's --html refuses to overwrite and writes atomically, the zoo page's
links all land. The browser checks are in test_browser.py."""
from __future__ import annotations

import json
import math
import re
from collections import Counter
from html.parser import HTMLParser

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from paramstat.cli import main  # noqa: E402
from paramstat.report.html import svg  # noqa: E402
from paramstat.report.html.compare_page import compare_page  # noqa: E402
from paramstat.report.html.scan_page import heat_vmax, scan_page  # noqa: E402
from paramstat.report.html.zoo_page import zoo_page  # noqa: E402


def _tiny(seed=0):
    from tests.conftest import make_tiny_cnn

    return make_tiny_cnn(seed)


@pytest.fixture(scope="module")
def tiny_scan():
    import paramstat

    return paramstat.scan(_tiny(0), progress=False, keep_bits=True)


@pytest.fixture(scope="module")
def tiny_page(tiny_scan) -> str:
    return scan_page(tiny_scan)


@pytest.fixture(scope="module")
def tiny_pt(tmp_path_factory):
    p = tmp_path_factory.mktemp("ck") / "tiny.pt"
    torch.save(_tiny(0).state_dict(), p)
    return p


class _Collect(HTMLParser):
    """Tags with their attributes, and the text inside <title> elements."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.titles: list[str] = []
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_title = tag == "title"

    def handle_endtag(self, tag):
        self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.titles.append(data)


def parse(page: str) -> _Collect:
    c = _Collect()
    c.feed(page)
    return c


def assert_self_contained(page: str) -> None:
    """No URL that a browser would fetch: no http(s)/protocol-relative src/href, no external stylesheet or
    script, no CSS url()/@import; the one http string allowed is the SVG namespace."""
    assert not re.search(r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:|//|file:)""", page, re.I)
    assert not re.search(r"<link[^>]+stylesheet", page, re.I)
    assert not re.search(r"<script[^>]+src", page, re.I)
    assert "url(" not in page and "@import" not in page
    assert set(re.findall(r"https?://[^\s\"'<>]+", page)) <= {"http://www.w3.org/2000/svg"}


# ------------------------------------------------------------------------------------------------- svg
def test_nice_ticks_hand_cases():
    assert svg.nice_ticks(0, 1, 5) == [0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]
    assert svg.nice_ticks(-0.075, 0.075, 6) == pytest.approx([-0.075, -0.05, -0.025, 0.0, 0.025, 0.05, 0.075])
    assert svg.nice_ticks(3, 97, 4) == [25.0, 50.0, 75.0]
    assert svg.nice_ticks(1.0, 1.0) == [1.0]


def test_axes_maps_data_to_pixels_linear_and_log():
    ax = svg.Axes(200, 100, 0.0, 10.0, 0.0, 1.0, margin=(20, 10, 10, 20))
    assert (ax.px(0), ax.px(10), ax.px(5)) == (20, 190, 105)
    assert (ax.py(0), ax.py(1), ax.py(0.5)) == (80, 10, 45)
    lg = svg.Axes(200, 100, 0.0, 1.0, 1e-3, 10.0, logy=True, margin=(20, 10, 10, 20))
    assert lg.py(10.0) == pytest.approx(10) and lg.py(1e-3) == pytest.approx(80)
    assert lg.py(0.1) == pytest.approx(80 - 70 * 2 / 4)           # 2 of the 4 decades up


def test_diverging_colour_ends_and_middle():
    assert svg.diverging_color(0.0) == "#f7f7f7"
    assert svg.diverging_color(1.0) == svg.diverging_color(7.0) == "#b2182b"     # clipped
    assert svg.diverging_color(-1.0) == "#2166ac"
    assert svg.diverging_color(0.5) == "#%02x%02x%02x" % (round((247 + 178) / 2), round((247 + 24) / 2),
                                                          round((247 + 43) / 2))


# ------------------------------------------------------------------------------------------ scan page
def test_scan_page_self_contained_and_numbers_match_json(tiny_scan, tiny_page):
    page = tiny_page
    assert_self_contained(page)
    d = tiny_scan.to_dict()
    c = parse(page)
    # the tensor table: one row per tensor, each score cell's sort value is the JSON score
    rows = re.search(r'<table id="tensor-table".*?<tbody>(.*?)</tbody>', page, re.S).group(1)
    assert rows.count("<tr>") == len(d["tensors"])
    cells = re.findall(r'<td class="num" data-v="([^"]*)">', rows)
    want = []
    for i, t in enumerate(d["tensors"]):
        want += [repr(float(i)), "" if t["score"] is None else repr(float(t["score"]))]
    assert cells == want
    # the score figure: one point per analysed tensor, titled with its score, at the height of its score
    analysed = [t for t in d["tensors"] if t["verdict"] != "skipped"]
    pts = re.findall(r'<circle cx="([\d.]+)" cy="([\d.]+)" r="3" fill="[^"]+"><title>([^<]+)</title>', page)
    assert len(pts) == len(analysed)
    for k, ((cx, cy, title), t) in enumerate(zip(pts, analysed)):
        name, score = title.rsplit(": ", 1)
        # x: index k in network order on [-0.5, n-0.5] over the 1120-px plot less margins 56 left, 14 right
        assert float(cx) == pytest.approx(56 + (k + 0.5) / len(analysed) * (1120 - 56 - 14), abs=0.06)
        assert name == t["name"] and float(score) == pytest.approx(t["score"], rel=1e-3)
        # hand formula: height 280, margins top 26 bottom 36, y range [-0.03, 1.03]
        assert float(cy) == pytest.approx(280 - 36 - (t["score"] + 0.03) / 1.06 * (280 - 26 - 36), abs=0.06)
    # Table 3: every row of to_dict()['layer_types'] with its numbers to 3 decimals
    t3 = re.search(r'<table id="t3".*?</table>', page, re.S).group(0)
    for r in d["layer_types"]:
        assert f"<td>{r['layer_type']}</td>" in t3
        for v in r["max_abs_z"].values():
            if v is not None:
                assert f">{v:.3f}</td>" in t3
    # provenance and one <svg> per figure (score, heatmap, histograms, spectra)
    assert "paramstat_version" in page
    n_svg = sum(1 for tag, _ in c.tags if tag == "svg")
    from paramstat.verdict.plotdata import plot_data

    pd = plot_data(tiny_scan)
    assert n_svg == 2 + len(pd.hists) + len(pd.spectra)


def test_scan_heatmap_carries_the_per_bit_runs_z(tiny_scan, tiny_page):
    page = tiny_page
    heat = [a for tag, a in parse(page).tags if tag == "svg" and "data-heat" in a]
    assert len(heat) == 1
    names = json.loads(heat[0]["data-rows"])
    z = json.loads(heat[0]["data-z"])
    assert names and len(names) == len(z)
    for n, row in zip(names, z):
        ref = tiny_scan.bit_z[n]
        for j, v in enumerate(row[: len(ref)]):
            if math.isfinite(ref[j]):
                assert v == pytest.approx(ref[j], abs=0.006)
            else:
                assert v is None
    # one cell per (tensor, bit), grey exactly where the bit is constant, the colour of its rounded level
    zz = np.array([[np.nan if v is None else v for v in r] for r in z])
    vmax = heat_vmax(zz)
    heat_svg = page[page.index("data-heat='"):]
    heat_svg = heat_svg[: heat_svg.index("</svg>")]
    cw = json.loads(heat[0]["data-heat"])["cw"]
    cells = {c: sum(round(float(w) / cw) for w in re.findall(r"h([\d.]+)v", d))     # runs of equal colour
             for d, c in re.findall(r'<path d="(M[^"]+)" fill="(#[0-9a-f]{6})"/>', heat_svg)}
    assert sum(cells.values()) == zz.size
    assert cells.get("#dddddd", 0) == int(np.isnan(zz).sum()) > 0
    lev = np.clip(np.rint(zz[np.isfinite(zz)] / vmax * 10), -10, 10)
    want = Counter(svg.diverging_color(v / 10) for v in lev)
    assert {c: n for c, n in cells.items() if c != "#dddddd"} == dict(want)


def test_scan_page_marks_the_never_trained_tensors(tiny_scan):
    import copy

    res = copy.copy(tiny_scan)
    res.verdict, res.untrained = "mixed", ["8.weight"]
    page = scan_page(res)
    banner = page[page.index('id="verdict"'): page.index('id="scores"')]
    assert "MIXED" in banner and "8.weight" in banner and "Never-trained tensors (1)" in banner
    t = next(t for t in res.tensors if t.name == "8.weight")
    assert t.evidence[0].text.replace("'", "&#x27;") in banner or t.evidence[0].text in banner
    big = re.findall(r'r="6"[^>]*><title>([^<:]+):', page)
    assert big == ["8.weight"]


def test_scan_page_without_bits_says_so(tiny_scan):
    import copy

    res = copy.copy(tiny_scan)
    res.bit_z = {}
    page = scan_page(res)
    assert "No per-bit runs Z kept" in page and "data-heat='" not in page


# ---------------------------------------------------------------------------------------- compare page
def test_compare_page_lists_and_change_figure():
    import paramstat

    a, b = _tiny(0), _tiny(0)
    with torch.no_grad():
        b[8].weight.add_(0.01 * torch.randn_like(b[8].weight))
    res = paramstat.compare(a, b, progress=False)
    page = compare_page(res)
    assert_self_contained(page)
    d = res.to_dict()
    changed = [t["name"] for t in d["tensors"] if not t["equal"]]
    assert changed == ["8.weight"]
    lists = page[page.index('id="lists"'):]
    assert "Changed (1)" in lists and "<code>8.weight</code>" in lists
    assert f"Identical values ({len(d['tensors']) - 1})" in lists
    assert "Shape mismatch (0)" in lists
    # the change figure: 8.weight is a point titled with its rel change; the identical ones are strip ticks
    td = next(t for t in d["tensors"] if t["name"] == "8.weight")
    m = re.search(r"<title>8\.weight: ([^<]+)</title>", page)
    assert float(m.group(1)) == pytest.approx(td["rel_change"], rel=1e-3)
    assert page.count(": 0</title></path>") == len(d["tensors"]) - 1
    assert f"{d['relation'].upper()}" in page


def test_compare_page_shows_shape_mismatch():
    import paramstat

    a = _tiny(0)
    b = _tiny(0)
    b[8] = torch.nn.Linear(8, 5)
    res = paramstat.compare(a, b, progress=False, by_name=True)
    page = compare_page(res)
    mism = page[page.index("Shape mismatch"):]
    assert "Shape mismatch (2)" in mism and "8.weight" in mism and "[10, 8]" in mism and "[5, 8]" in mism


# ------------------------------------------------------------------------------------------ zoo page
ROWS = [
    {"source": "a/trained.safetensors", "format": "safetensors", "architecture": "resnet18", "verdict": "trained",
     "score": 0.99, "n_params": 100, "untrained": [], "error": None},
    {"source": "b/newhead.pt", "format": "torch", "architecture": "resnet18", "verdict": "mixed", "score": 0.9,
     "n_params": 90, "untrained": ["fc.weight", "fc.bias"], "error": None},
    {"source": "c/fresh.onnx", "format": "onnx", "architecture": "vit_tiny", "verdict": "untrained",
     "score": 0.01, "n_params": 50, "untrained": [], "error": None},
    {"source": "d/broken.pt", "format": "torch", "architecture": None, "verdict": None, "score": None,
     "n_params": None, "untrained": [], "error": "cannot read: truncated <zip>"},
]


def test_zoo_page_counts_links_and_escaping():
    tensors = {"b/newhead.pt": [{"name": "conv.weight", "verdict": "trained", "score": 0.97},
                                {"name": "fc.weight", "verdict": "untrained", "score": 0.02}]}
    page = zoo_page(ROWS, tensors)
    assert_self_contained(page)
    c = parse(page)
    ids = {a["id"] for _, a in c.tags if "id" in a}
    hrefs = [a["href"] for t, a in c.tags if t == "a" and a.get("href", "").startswith("#")]
    assert {f"#ckpt-{i}" for i in range(len(ROWS))} <= set(hrefs)
    assert all(h[1:] in ids for h in hrefs)                    # every in-page link lands
    assert "truncated &lt;zip&gt;" in page and "<zip>" not in page
    # bar chart of verdicts: the counts drawn are the rows' counts (error = unreadable row)
    fig = page[page.index("checkpoints by verdict"):]
    fig = fig[: fig.index("</svg>")]
    drawn = dict(re.findall(r'text-anchor="end">([^<]+)</text><rect[^>]+/><text[^>]+>(\d+)</text>', fig))
    assert {k: int(v) for k, v in drawn.items()} == dict(Counter(r["verdict"] or "error" for r in ROWS))
    # the per-checkpoint score strip: the untrained tensor is the marked point
    assert re.findall(r'r="6"[^>]*><title>([^<:]+):', page) == ["fc.weight"]


# ------------------------------------------------------------------------------------------------ CLI
def test_cli_scan_html_refuses_existing_then_force(tiny_pt, tmp_path, capsys):
    out = tmp_path / "r.html"
    assert main(["scan", str(tiny_pt), "--html", str(out), "--no-progress"]) == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    assert_self_contained(text)
    capsys.readouterr()
    out.write_text("keep me")
    assert main(["scan", str(tiny_pt), "--html", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "output exists" in err and "--force" in err and "scanning" not in err
    assert out.read_text() == "keep me"
    assert main(["scan", str(tiny_pt), "--html", str(out), "--no-progress", "--force"]) == 0
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]      # no temp file left behind


def test_cli_compare_html(tiny_pt, tmp_path, capsys):
    out = tmp_path / "c.html"
    assert main(["compare", str(tiny_pt), str(tiny_pt), "--html", str(out), "--no-progress"]) == 0
    page = out.read_text(encoding="utf-8")
    assert_self_contained(page)
    assert "IDENTICAL" in page
    capsys.readouterr()
    assert main(["compare", str(tiny_pt), str(tiny_pt), "--html", str(out), "--no-progress"]) == 2
    assert "output exists" in capsys.readouterr().err
