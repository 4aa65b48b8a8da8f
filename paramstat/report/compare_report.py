"""rich tables for a CompareResult: summary, the N tensors that changed most, one row per layer type.
Presentation only: every number comes from paramstat.compare."""
from __future__ import annotations

import math

from rich.console import Console
from rich.table import Table

REL_STYLE = {"identical": "green", "bit-identical up to dtype cast": "cyan", "fine-tuned": "yellow",
             "retrained": "magenta", "independent": "red"}


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
    t.add_column(style="bold")
    t.add_column()
    t.add_row("A", res.source_a)
    t.add_row("B", res.source_b)
    rel = _rel(res.relation) if res.relation else "[red]nothing to compare[/]"
    if res.relation and not res.complete:
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


def top_table(res, n: int = 10) -> Table:
    t = Table(title=f"the {n} tensors that changed most (by ||B-A||/||A||)", title_justify="left")
    for col, kw in (("#", {"justify": "right"}), ("tensor", {}), ("role", {}), ("shape", {}), ("relation", {}),
                    ("rel change", {"justify": "right"}), ("cosine", {"justify": "right"}),
                    ("corr", {"justify": "right"}), ("max |Δ|", {"justify": "right"}),
                    ("KS D", {"justify": "right"}), ("Δstd", {"justify": "right"}),
                    ("Δkurt", {"justify": "right"}), ("family A→B", {}), ("spikes A→B", {"justify": "right"})):
        t.add_column(col, **kw)
    for td in res.top_changed(n):
        fam = (f"{td.fit_a['family']}→{td.fit_b['family']}" if td.fit_a and td.fit_b else "-")
        sp = (f"{td.spectral_a['n_spikes']}→{td.spectral_b['n_spikes']}" if td.spectral_a and td.spectral_b
              else "-")
        t.add_row(str(td.depth), td.name, td.role, "x".join(map(str, td.shape)), _rel(td.relation),
                  _f(td.rel_change), _f(td.cosine, ".4f"), _f(td.corr, ".3f"), _f(td.max_abs_diff),
                  _f(td.ks_d, ".3f"), _f(td.d_std, "+.2g"), _f(td.d_kurt, "+.2g"), fam, sp)
    return t


def role_table(res) -> Table:
    t = Table(title="per layer type", title_justify="left")
    for col in ("role", "tensors", "params", "relations", "median rel change", "max rel change", "min cosine"):
        t.add_column(col, justify="left" if col in ("role", "relations") else "right")
    groups: dict[str, list] = {}
    for td in res.tensors:
        groups.setdefault(td.role, []).append(td)
    for role, tds in sorted(groups.items(), key=lambda kv: -sum(x.numel for x in kv[1])):
        rels: dict[str, int] = {}
        for x in tds:
            k = x.relation or "moved (constant side)"
            rels[k] = rels.get(k, 0) + 1
        rc = sorted(x.rel_change for x in tds)
        cos = [x.cosine for x in tds if not math.isnan(x.cosine)]
        t.add_row(role, str(len(tds)), _params(sum(x.numel for x in tds)),
                  ", ".join(f"{k} {v}" for k, v in sorted(rels.items(), key=lambda kv: -kv[1])),
                  _f(rc[len(rc) // 2]), _f(rc[-1]), _f(min(cos), ".4f") if cos else "-")
    return t


def unmatched_table(res, limit: int = 20) -> Table | None:
    if not (res.only_in_a or res.only_in_b or res.shape_mismatch):
        return None
    t = Table(title="unmatched tensors", title_justify="left")
    t.add_column("where")
    t.add_column("tensor")
    t.add_column("detail")
    rows = ([("only in A", n, "") for n in res.only_in_a] + [("only in B", n, "") for n in res.only_in_b]
            + [("shape mismatch", d["name"], f"{d['shape_a']} vs {d['shape_b']}") for d in res.shape_mismatch])
    for r in rows[:limit]:
        t.add_row(*r)
    if len(rows) > limit:
        t.add_row("…", f"{len(rows) - limit} more (see --json)", "")
    return t


def render(res, console: Console | None = None, top: int = 10) -> None:
    if console is None:
        console = Console()
        if not console.is_terminal:  # files and pipes: wide enough that tensor names are not cut
            console = Console(width=180)
    console.print(summary_table(res))
    if res.tensors:
        if any(not t.equal for t in res.tensors):
            console.print(top_table(res, top))
        console.print(role_table(res))
    ut = unmatched_table(res)
    if ut is not None:
        console.print(ut)
