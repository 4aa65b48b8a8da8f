"""`paramstat info`'s tensor listing: the rich table and, above RICH_ROWS tensors, the plain columns that
render in linear time."""
from __future__ import annotations

import io
import time

from rich.console import Console

from paramstat.report import info_table as T


def _rows(n: int, nonfinite: int = 0) -> list[dict]:
    return [{"depth": i, "name": f"blocks.{i}.weight", "role": "linear", "shape": [4, 8], "dtype": "float32",
             "fan_in": 8, "fan_out": 4, "groups": 1, "numel": 32, "nonfinite": nonfinite if i == 1 else 0}
            for i in range(n)]


def test_plain_lines_hold_the_rich_tables_cells():
    rows = _rows(3, nonfinite=5)
    lines = T.tensor_lines(rows, "3 tensors")
    assert lines[0] == "3 tensors (all float32)"
    assert lines[1].split() == ["#", "name", "role", "shape", "fan_in", "fan_out", "#params", "NaN/Inf"]
    assert lines[3].split() == ["0", "blocks.0.weight", "linear", "4x8", "8", "4", "32", "0"]
    assert lines[4].split()[-1] == "5" and "[bold" not in lines[4]     # markup stripped
    con = Console(file=io.StringIO(), width=200)
    con.print(T.tensor_table(rows, "3 tensors"))
    out = con.file.getvalue()
    for cell in lines[4].split():
        assert cell in out


def test_many_tensors_print_as_plain_columns_in_linear_time():
    info = {"source": "x", "format": "safetensors", "provenance": {}, "n_tensors": 50_000,
            "tensors": _rows(50_000), "totals_by_role": {"linear": {"tensors": 50_000, "numel": 1_600_000,
                                                                       "nonfinite": 0}},
            "totals": {"tensors": 50_000, "numel": 1_600_000, "nonfinite": 0}, "n_params": 1_600_000}
    con = Console(file=io.StringIO(), width=120)
    t0 = time.perf_counter()
    T.print_info(info, console=con)
    dt = time.perf_counter() - t0
    out = con.file.getvalue()
    assert out.count("blocks.") == 50_000 and "blocks.49999.weight" in out
    assert dt < 10, dt   # the rich table took ~25 s for 20k rows
