"""Rich tables for `paramstat info`: one row per tensor, totals by role, provenance and warnings.
Only formats what commands/info.py computed."""
from __future__ import annotations

from rich.console import Console
from rich.table import Table


def _fmt_int(x) -> str:
    return "" if x is None else f"{int(x):,}"


def tensor_table(tensors: list[dict], title: str) -> Table:
    t = Table(title=title, show_lines=False, header_style="bold")
    for col, just in (("#", "right"), ("name", "left"), ("role", "left"), ("shape", "left"), ("dtype", "left"),
                      ("fan_in", "right"), ("fan_out", "right"), ("groups", "right"), ("#params", "right"),
                      ("non-finite", "right")):
        t.add_column(col, justify=just, no_wrap=col in ("name", "shape"))
    for r in tensors:
        nf = r.get("nonfinite")
        nf_s = "" if nf is None else (f"[bold red]{nf:,}[/]" if nf else "0")
        t.add_row(str(r["depth"]), r["name"], r["role"], "x".join(map(str, r["shape"])) or "scalar", r["dtype"],
                  _fmt_int(r["fan_in"]), _fmt_int(r["fan_out"]), _fmt_int(r["groups"]), _fmt_int(r["numel"]),
                  nf_s)
    return t


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
        console = Console()
        if not console.is_terminal:  # piped: do not squeeze the table into 80 columns
            console = Console(width=max(console.width, 180))
    prov = info.get("provenance", {})
    head = f"[bold]{info['source']}[/]  format={info['format']}"
    for k in ("arch", "pretrained", "seed", "sha256"):
        if prov.get(k) is not None:
            v = prov[k][:16] + "…" if k == "sha256" else prov[k]
            head += f"  {k}={v}"
    console.print(head)
    if show_tensors:
        console.print(tensor_table(info["tensors"], f"{info['n_tensors']} tensors"))
    console.print(totals_table(info["totals_by_role"], info["totals"]))
    console.print(f"parameters (float, excluding running stats): [bold]{info['n_params']:,}[/]")
    for w in info.get("warnings", []):
        console.print(f"[yellow]warning:[/] {w}", highlight=False, soft_wrap=True)
