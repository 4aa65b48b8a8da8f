"""compare's report at the console's width (names never cut, no line wider than the console, COLUMNS
honoured when piped) and rel_change.png's separate strip for identical tensors. Data: the ImageNet
EfficientNet-Lite0 against a copy the test perturbs (longest names moved most, so they head the table)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from rich.console import Console

from paramstat.cli import main
from paramstat.compare import compare
from paramstat.report.compare_plots import plot_rel_change, rel_change_figure
from paramstat.report.compare_report import render


@pytest.fixture(scope="module")
def lite0_pair(effnet_lite0_path):
    """(A, B): B = A plus noise of 0.1 % x len(name) of each tensor's std; 1x1 project convs untouched."""
    a = torch.load(effnet_lite0_path, weights_only=True)
    torch.manual_seed(0)
    b = {}
    for k, v in a.items():
        b[k] = v + 1e-3 * len(k) * v.std() * torch.randn_like(v) if v.is_floating_point() and "_project" not in k \
            and v.numel() > 1 else v.clone()
    return a, b


@pytest.fixture(scope="module")
def lite0_res(lite0_pair):
    a, b = lite0_pair
    return compare(a, b, progress=False, deep="none", subsample=2000)


@pytest.mark.parametrize("width", [80, 120, 160])
@pytest.mark.slow
def test_names_whole_at_console_width(lite0_res, width):
    con = Console(record=True, width=width, color_system=None)
    render(lite0_res, console=con, top=10)
    text = con.export_text()
    lines = text.splitlines()
    assert max(len(x) for x in lines) <= width
    top = lite0_res.top_changed(10)
    assert min(len(t.name) for t in top) >= 27  # the long names, e.g. _blocks.10._depthwise_conv.weight
    table = lines[next(i for i, x in enumerate(lines) if x.startswith("the 10 tensors")):]
    for t in top:  # each name whole on one line, with its rel change beside it
        row = next(x for x in table if f" {t.name} " in x)
        assert format(t.rel_change, ".3g") in row
    if width == 80:
        assert "column(s) left out to fit 80 columns" in " ".join(text.split())  # the title may wrap


def test_piped_report_follows_columns(tmp_path, monkeypatch, capsys):
    from safetensors.torch import save_file

    torch.manual_seed(0)
    a = {f"encoder.layers.{i}.attention.self.query.weight": torch.randn(16, 16) for i in range(3)}
    b = {k: v + 0.01 * (i + 1) * torch.randn(16, 16) for i, (k, v) in enumerate(a.items())}
    save_file(a, tmp_path / "a.safetensors")
    save_file(b, tmp_path / "b.safetensors")
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["compare", str(tmp_path / "a.safetensors"), str(tmp_path / "b.safetensors"), "--no-progress",
                 "--deep", "none"]) == 0
    out = capsys.readouterr().out
    assert max(len(x) for x in out.splitlines()) == 80  # the console's width, not 180
    for k in a:
        row = next(x for x in out.splitlines() if f" {k} " in x)
        want = float(torch.norm(b[k] - a[k]) / torch.norm(a[k]))
        assert format(want, ".3g") in row


def _offsets(ax) -> np.ndarray:
    return np.concatenate([c.get_offsets() for c in ax.collections]) if ax.collections else np.zeros((0, 2))


@pytest.mark.slow
def test_rel_change_plot_keeps_identical_apart(lite0_res, tmp_path):
    res = lite0_res
    fig = rel_change_figure(res)
    ax, strip = fig.axes
    tds = sorted(res.tensors, key=lambda t: t.depth)
    ident = [i for i, t in enumerate(tds) if t.rel_change == 0]
    moved = [i for i, t in enumerate(tds) if t.rel_change > 0]
    assert len(ident) == 16 and len(moved) == 247 - 16  # the 16 untouched _project_conv weights
    main_xy, strip_xy = _offsets(ax), _offsets(strip)
    assert sorted(main_xy[:, 0].astype(int)) == moved   # nothing drawn at a floor on the log axis
    assert sorted(strip_xy[:, 0].astype(int)) == ident
    assert ax.get_yscale() == "log" and main_xy[:, 1].min() > ax.get_ylim()[0] > 0
    assert strip.get_ylabel() == "identical"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "identical (16: rel change 0, below the log axis)" in legend
    import matplotlib.pyplot as plt

    plt.close(fig)
    p = plot_rel_change(res, tmp_path / "rel_change.png")
    assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_role_table_median_and_top_title(lite0_res):
    """The per-role 'median rel change' is the median (numpy's, even counts averaged), and the top table's
    title counts the rows it shows."""
    from paramstat.report.compare_report import role_table, top_table

    con = Console(record=True, width=200)
    con.print(role_table(lite0_res))
    text = con.export_text()
    for role in ("conv", "dwconv"):
        rc = [t.rel_change for t in lite0_res.tensors if t.role == role]
        line = next(x for x in text.splitlines() if x.strip("│┃ ").startswith(role + " "))
        assert f"{np.median(rc):.3g}" in line, (role, line)
    con2 = Console(record=True, width=200)
    con2.print(top_table(lite0_res, n=7))
    assert "the 7 tensors that changed most" in con2.export_text()
