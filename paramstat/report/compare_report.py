"""rich tables for a CompareResult: summary, the N tensors that changed most, one row per layer type.
Presentation only: every number comes from paramstat.compare. Widths follow the console (a terminal's
width, or COLUMNS when piped): tensor names are never cut; on narrow consoles the top-changed table keeps
the columns that fit, most telling first (relation, rel change, cosine, corr, shape ...)."""
from __future__ import annotations

import math

import numpy as np
from rich.console import Console
from rich.table import Table

REL_STYLE = {"identical": "green", "bit-identical up to dtype cast": "cyan", "fine-tuned": "yellow",
             "retrained": "magenta", "independent": "red", "modified": "blue", "different architectures": "red",
             "too little in common": "red"}
COVERAGE_LABELS = ("different architectures", "too little in common")


def _f(x, fmt: str = ".3g") -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        if math.isnan(x):
            return "-"
        if math.isinf(x):
            return "inf"
    return format(x, fmt)


def _rel(label) -> str:
    if label is None:
        return "moved (constant side)"
    return f"[{REL_STYLE.get(label, 'white')}]{label}[/]"


def _params(n: int) -> str:
    for unit, div in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= div:
            return f"{n / div:.2f}{unit}"
    return str(n)


def summary_table(res) -> Table:
    t = Table(title="paramstat compare", show_header=False, title_justify="left")
    t.add_column(style="bold", no_wrap=True)
    t.add_column(overflow="fold")  # paths and names wrap, never cut
    t.add_row("A", res.source_a)
    t.add_row("B", res.source_b)
    rel = _rel(res.relation) if res.relation else "[red]nothing to compare[/]"
    if getattr(res, "relation_detail", ""):
        rel += f": {res.relation_detail}"
    if res.relation and not res.complete and res.relation not in COVERAGE_LABELS:
        rel += (f" [yellow](matched tensors only: {len(res.shape_mismatch)} shape mismatch(es), "
                f"{len(res.only_in_a)} only in A, {len(res.only_in_b)} only in B)[/]")
    t.add_row("relation", rel)
    counts = ", ".join(f"{k}: {v}" for k, v in sorted(res.counts().items(), key=lambda kv: -kv[1]))
    t.add_row("tensors", f"{len(res.tensors)} float tensors compared ({_params(res.params_compared)} values)"
              + (f"; {counts}" if counts else ""))
    if res.only_in_a or res.only_in_b or res.shape_mismatch:
        t.add_row("unmatched", f"only in A: {len(res.only_in_a)}, only in B: {len(res.only_in_b)}, "
                  f"shape mismatch: {len(res.shape_mismatch)}")
    if res.prefix_removed:
        t.add_row("prefix", ", ".join(f"{k.upper()}: dropped '{v}'" for k, v in res.prefix_removed.items()))
    moved_nf = [d["name"] for d in res.non_float if not d["equal"]]
    if res.non_float:
        t.add_row("non-float", f"{len(res.non_float)} integer tensors, {len(moved_nf)} differ")
    if res.unchanged_while_others_moved:
        names = res.unchanged_while_others_moved
        shown = ", ".join(names[:8]) + (f" (+{len(names) - 8} more)" if len(names) > 8 else "")
        t.add_row("unchanged", f"[bold]{len(names)} tensors kept their exact values while others moved:[/] {shown}")
    for w in res.warnings:
        t.add_row("warning", f"[yellow]{w}[/]")
    t.add_row("time", f"{res.elapsed_s:.2f} s")
    return t


# top-changed columns: (header, rich kwargs, priority: lower = kept first on narrow consoles)
_TOP_COLS = (("#", {"justify": "right"}, 4), ("tensor", {}, 0), ("role", {}, 8), ("shape", {}, 3),
             ("relation", {}, 0), ("rel change", {"justify": "right"}, 0), ("cosine", {"justify": "right"}, 1),
             ("corr", {"justify": "right"}, 2), ("max |Δ|", {"justify": "right"}, 6),
             ("KS D", {"justify": "right"}, 5), ("Δstd", {"justify": "right"}, 7),
             ("Δkurt", {"justify": "right"}, 9), ("family A→B", {}, 10), ("spikes A→B", {"justify": "right"}, 11))


def _cell_len(markup: str) -> int:
    from rich.text import Text

    return Text.from_markup(markup).cell_len


def fit_columns(headers: list[str], rows: list[list[str]], priority: list[int], width: int | None,
                wrap: dict[int, int] | None = None) -> list[int]:
    """Indices of the columns to show: all when they fit in ``width`` (or width is None), else by priority
    (ties in table order) as long as the table (cells + 1 space padding each side + box lines) fits;
    priority-0 columns always. ``wrap``: {column: width} for columns that may wrap to that width."""
    n = len(headers)
    need = [max([_cell_len(h) for h in headers[i].split("\n")] + [_cell_len(r[i]) for r in rows]) for i in range(n)]
    need = [min(w, (wrap or {}).get(i, w)) + 2 for i, w in enumerate(need)]
    if width is None or sum(need) + n + 1 <= width:
        return list(range(n))
    keep: list[int] = []
    for i in sorted(range(n), key=lambda i: (priority[i], i)):
        if priority[i] == 0 or sum(need[j] for j in keep) + need[i] + len(keep) + 2 <= width:
            keep.append(i)
    return sorted(keep)


def top_table(res, n: int = 10, width: int | None = None) -> Table:
    """The n most-changed tensors; ``width``: the console width to fit (None = every column)."""
    rows = []
    for td in res.top_changed(n):
        fam = (f"{td.fit_a['family']}→{td.fit_b['family']}" if td.fit_a and td.fit_b else "-")
        sp = (f"{td.spectral_a['n_spikes']}→{td.spectral_b['n_spikes']}" if td.spectral_a and td.spectral_b
              else "-")
        rows.append([str(td.depth), td.name, td.role, "x".join(map(str, td.shape)), _rel(td.relation),
                     _f(td.rel_change), _f(td.cosine, ".4f"), _f(td.corr, ".3f"), _f(td.max_abs_diff),
                     _f(td.ks_d, ".3f"), _f(td.d_std, "+.2g"), _f(td.d_kurt, "+.2g"), fam, sp])
    headers = [c[0] for c in _TOP_COLS]
    keep = fit_columns(headers, rows, [c[2] for c in _TOP_COLS], width)
    title = (f"the {len(rows)} tensors that changed most (by ||B-A||/||A||)" if len(rows) > 1 else
             f"the {len(rows)} tensor that changed (by ||B-A||/||A||)")
    if len(keep) < len(headers):
        title += f"; {len(headers) - len(keep)} column(s) left out to fit {width} columns (all in --json)"
    t = Table(title=title, title_justify="left")
    name_w = max([len(r[1]) for r in rows] + [6])
    for i in keep:
        header, kw, _ = _TOP_COLS[i]
        kw = dict(kw)
        if header == "tensor":  # whole names: on one line when they fit, else folded, never cut
            kw.update(overflow="fold", min_width=min(name_w, max(12, (width or name_w) - 34)))
        elif header != "relation":
            kw["no_wrap"] = True
        t.add_column(header, **kw)
    for r in rows:
        t.add_row(*(r[i] for i in keep))
    return t


_ROLE_COLS = (("role", 0), ("tensors", 3), ("params", 1), ("relations", 0), ("median\nrel change", 2),
              ("max\nrel change", 1), ("min\ncosine", 4))


def role_table(res, width: int | None = None) -> Table:
    """One row per layer role; ``width`` as in top_table (relations wrap, the rest is never cut)."""
    groups: dict[str, list] = {}
    for td in res.tensors:
        groups.setdefault(td.role, []).append(td)
    rows = []
    for role, tds in sorted(groups.items(), key=lambda kv: -sum(x.numel for x in kv[1])):
        rels: dict[str, int] = {}
        for x in tds:
            k = x.relation or "moved (constant side)"
            rels[k] = rels.get(k, 0) + 1
        rc = sorted(x.rel_change for x in tds)
        cos = [x.cosine for x in tds if not math.isnan(x.cosine)]
        rows.append([role, str(len(tds)), _params(sum(x.numel for x in tds)),
                     ", ".join(f"{k} {v}" for k, v in sorted(rels.items(), key=lambda kv: -kv[1])),
                     _f(float(np.median(rc))), _f(rc[-1]), _f(min(cos), ".4f") if cos else "-"])
    headers = [c[0] for c in _ROLE_COLS]
    keep = fit_columns(headers, rows, [c[1] for c in _ROLE_COLS], width, wrap={3: 15})
    t = Table(title="per layer type", title_justify="left")
    for i in keep:
        col = headers[i]
        t.add_column(col, justify="left" if col in ("role", "relations") else "right", no_wrap=col != "relations")
    for r in rows:
        t.add_row(*(r[i] for i in keep))
    return t


def unmatched_table(res, limit: int = 20) -> Table | None:
    if not (res.only_in_a or res.only_in_b or res.shape_mismatch):
        return None
    t = Table(title="unmatched tensors", title_justify="left")
    t.add_column("where", no_wrap=True)
    t.add_column("tensor", overflow="fold", min_width=min(max([len(n) for n in res.only_in_a + res.only_in_b]
                                                             + [len(d["name"]) for d in res.shape_mismatch]), 40))
    t.add_column("detail")
    rows = ([("only in A", n, "") for n in res.only_in_a] + [("only in B", n, "") for n in res.only_in_b]
            + [("shape mismatch", d["name"], f"{d['shape_a']} vs {d['shape_b']}") for d in res.shape_mismatch])
    for r in rows[:limit]:
        t.add_row(*r)
    if len(rows) > limit:
        t.add_row("…", f"{len(rows) - limit} more (see --json)", "")
    return t


def render(res, console: Console | None = None, top: int = 10) -> None:
    console = console or Console()  # a terminal's width; COLUMNS (else 80) for files and pipes
    console.print(summary_table(res))
    if res.tensors:
        if any(not t.equal for t in res.tensors) and top > 0:
            console.print(top_table(res, top, width=console.width))
        console.print(role_table(res, width=console.width))
    ut = unmatched_table(res)
    if ut is not None:
        console.print(ut)
