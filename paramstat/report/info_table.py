"""Rich tables for `paramstat info`: one row per tensor, totals by role, provenance and warnings.
Only formats what report/info_summary.summarize computed."""
from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table


def _fmt_int(x) -> str:
    return "" if x is None else f"{int(x):,}"


RICH_ROWS = 2000   # above this many tensors the table is printed as plain columns (rich: ~1 ms a row)


def _columns(tensors: list[dict]) -> tuple[str, list[tuple[str, str]], list[list[str]], list[int]]:
    """(title notes, columns as (name, justify), rows of cell strings (the NaN/Inf cell may hold markup),
    each column's width without markup).
    Columns that would say the same on every row move to the title: dtype when all tensors share one,
    groups unless some tensor has groups > 1, the non-finite count unless some tensor has one (the title
    says 'all finite' or 'values not read')."""
    dtypes = sorted({r["dtype"] for r in tensors})
    nf = [r.get("nonfinite") for r in tensors]
    show_dtype = len(dtypes) > 1
    show_groups = any((r.get("groups") or 1) > 1 for r in tensors)
    show_nf = any(nf)
    notes = []
    if len(dtypes) == 1:
        notes.append(f"all {dtypes[0]}")
    if not show_nf:
        notes.append("values not read" if all(x is None for x in nf) else "all finite")
    cols = [("#", "right"), ("name", "left"), ("role", "left"), ("shape", "left")]
    cols += [("dtype", "left")] if show_dtype else []
    cols += [("fan_in", "right"), ("fan_out", "right")]
    cols += [("groups", "right")] if show_groups else []
    cols += [("#params", "right")]
    cols += [("NaN/Inf", "right")] if show_nf else []
    rows = []
    for r in tensors:
        x = r.get("nonfinite")
        row = [str(r["depth"]), r["name"], r["role"], "x".join(map(str, r["shape"])) or "scalar"]
        row += [r["dtype"]] if show_dtype else []
        row += [_fmt_int(r["fan_in"]), _fmt_int(r["fan_out"])]
        row += [_fmt_int(r["groups"])] if show_groups else []
        row += [_fmt_int(r["numel"])]
        row += ["" if x is None else (f"[bold red]{x:,}[/]" if x else "0")] if show_nf else []
        rows.append(row)
    need = [max([len(c)] + [len(_plain(row[i])) for row in rows]) for i, (c, _j) in enumerate(cols)]
    return (f" ({', '.join(notes)})" if notes else ""), cols, rows, need


def _plain(cell: str) -> str:
    return cell.removeprefix("[bold red]").removesuffix("[/]")


def tensor_table(tensors: list[dict], title: str, width: int | None = None) -> Table:
    """One row per tensor, readable at 80 columns: the short columns (role, dtype, fans, counts) never
    wrap; the name and the shape fold (columns: `_columns`). When the rows do not fit in ``width``, the
    space left by the short columns goes 1/3 to the shape (at least 5), the rest to the name (rich alone
    would crop every column evenly once name and shape are equally wide)."""
    notes, cols, rows, need = _columns(tensors)
    t = Table(title=title + notes, box=box.SIMPLE_HEAD, show_edge=False, header_style="bold", pad_edge=False,
              padding=0)
    fixed = sum(n for (c, _j), n in zip(cols, need) if c not in ("name", "shape")) + len(cols) - 1
    fit = {}
    if width is not None and fixed + need[1] + need[3] > width:
        left = width - fixed
        fit["shape"] = max(5, min(need[3], left // 3))
        fit["name"] = max(8, left - fit["shape"])
    for col, just in cols:
        if col in ("name", "shape"):
            t.add_column(col, justify=just, overflow="fold", width=fit.get(col))
        else:
            t.add_column(col, justify=just, no_wrap=True)
    for row in rows:
        t.add_row(*row)
    return t


def tensor_lines(tensors: list[dict], title: str) -> list[str]:
    """The same columns as `tensor_table` as plain text lines (no folding): what `print_info` prints for
    more than RICH_ROWS tensors, in linear time (a 100k-tensor checkpoint in about a second)."""
    notes, cols, rows, need = _columns(tensors)
    rows = [[_plain(c) for c in row] for row in rows]

    def line(cells):
        return " ".join(c.rjust(n) if j == "right" else c.ljust(n)
                        for c, n, (_c, j) in zip(cells, need, cols)).rstrip()

    return [title + notes, line([c for c, _j in cols]), line(["-" * n for n in need])] + [line(r) for r in rows]


def totals_table(totals: dict[str, dict], grand: dict) -> Table:
    t = Table(title="totals by role", header_style="bold")
    for col in ("role", "tensors", "#params", "non-finite"):
        t.add_column(col, justify="left" if col == "role" else "right")
    for role, d in totals.items():
        t.add_row(role, str(d["tensors"]), _fmt_int(d["numel"]), _fmt_int(d["nonfinite"]))
    t.add_row("[bold]all[/]", f"[bold]{grand['tensors']}[/]", f"[bold]{grand['numel']:,}[/]",
              _fmt_int(grand["nonfinite"]))
    return t


def print_info(info: dict, console: Console | None = None, show_tensors: bool = True) -> None:
    if console is None:
        console = Console()  # the terminal's width; piped: COLUMNS, else rich's default of 80
    prov = info.get("provenance", {})
    head = f"[bold]{info['source']}[/]  format={info['format']}"
    for k in ("arch", "pretrained", "seed", "sha256"):
        if prov.get(k) is not None:
            v = prov[k][:16] + "…" if k == "sha256" else prov[k]
            head += f"  {k}={v}"
    console.print(head)
    if show_tensors and len(info["tensors"]) > RICH_ROWS:
        console.file.write("\n".join(tensor_lines(info["tensors"], f"{info['n_tensors']} tensors")) + "\n")
    elif show_tensors:
        console.print(tensor_table(info["tensors"], f"{info['n_tensors']} tensors", width=console.width))
    console.print(totals_table(info["totals_by_role"], info["totals"]))
    console.print(f"parameters (float, excluding running stats): [bold]{info['n_params']:,}[/]")
    for w in info.get("warnings", []):
        console.print(f"[yellow]warning:[/] {w}", highlight=False, soft_wrap=True)
