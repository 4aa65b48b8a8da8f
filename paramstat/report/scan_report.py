"""Rich terminal report for `paramstat scan`: verdict, the seed's Table 3 per layer type with verdict
counts, the tensors that decide 'mixed', and (--details) every tensor. Presentation only."""
from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..verdict.results import ScanResult

STYLE = {"trained": "bold green", "untrained": "bold yellow", "mixed": "bold magenta",
         "undetermined": "dim", "skipped": "dim"}


def _f(x, fmt: str = "{:.3f}") -> str:
    return "—" if x is None else fmt.format(x)


def _shape(s) -> str:
    return "×".join(str(int(d)) for d in s) if len(s) else "scalar"


def header(result: ScanResult) -> Text:
    c = result.counts()
    t = Text()
    t.append("verdict: ")
    t.append(result.verdict.upper(), style=STYLE.get(result.verdict, "bold"))
    t.append(f"  (P(trained) = {result.score:.3f})\n")
    t.append(f"{result.source}  [{result.format}]  {result.n_params:,} parameters in {len(result.tensors)} tensors\n",
             style="dim")
    t.append("tensors: ")
    parts = [(k, c.get(k, 0)) for k in ("trained", "untrained", "undetermined", "skipped")]
    for i, (k, n) in enumerate(parts):
        t.append(f"{n} {k}", style=STYLE[k] if n else "dim")
        if i < len(parts) - 1:
            t.append(", ")
    return t


_COUNT_COLS = (("trained", "trained"), ("untrained", "untr."), ("undetermined", "undet."), ("skipped", "skip"))


def layer_table(rows) -> Table:
    """The seed's Table 3 as a rich table, from ``ScanResult.layer_type_table()`` rows (stats.table3)."""
    labels = next((r.group_labels for r in rows if r.n_layers), ["frac 0-7", "frac 8-15", "frac 16-22"])
    tab = Table(title="Runs tests on fraction bits per layer type (seed's Table 3) — max |Z| per bit group, "
                      "mean |Z|, verdict counts", title_justify="left", header_style="bold",
                box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1), collapse_padding=True)
    tab.add_column("layer type", no_wrap=True)
    tab.add_column("#", justify="right")
    for lab in labels:
        tab.add_column(lab.replace("frac ", "frac\n"), justify="right")
    tab.add_column("mean\n|Z|", justify="right")
    for k, head in _COUNT_COLS:
        tab.add_column(head, justify="right", style=STYLE[k] if k in ("trained", "untrained") else None)
    for r in rows:
        tab.add_row(r.layer_type, str(r.n_layers), *[_f(z) for z in r.group_max_z[:len(labels)]],
                    _f(r.mean_abs_z), *[str(r.counts.get(k, 0) or "") for k, _ in _COUNT_COLS])
    return tab


def _evidence_text(tv, n: int = 1) -> str:
    return "; ".join(e.text for e in tv.evidence[:n]) if tv.evidence else ""


NARROW = 110  # below this console width the evidence goes on its own line under each tensor


def tensor_table(tensors, title: str, n_evidence: int = 1, width: int | None = None) -> Table:
    """One row per tensor; on a console narrower than NARROW columns, no role column and the evidence on a
    second, dimmed line under the name, so names and evidence keep most of the width."""
    tab = Table(title=title, title_justify="left", header_style="bold")
    narrow = width is not None and width < NARROW
    cols = [("#", {"justify": "right", "no_wrap": True}),
            ("name / top evidence" if narrow else "name", {"overflow": "fold", "ratio": 1 if narrow else 2}),
            ("role", {"no_wrap": True}), ("shape", {"no_wrap": True}), ("verdict", {"no_wrap": True}),
            ("score", {"justify": "right", "no_wrap": True}), ("top evidence", {"overflow": "fold", "ratio": 3})]
    if narrow:
        cols = [c for c in cols if c[0] not in ("role", "top evidence")]
    for col, kw in cols:
        tab.add_column(col, **kw)
    for tv in tensors:
        verdict = Text(tv.verdict, style=STYLE.get(tv.verdict, ""))
        ev = _evidence_text(tv, n_evidence)
        if narrow:
            tab.add_row(str(tv.depth), tv.name, _shape(tv.shape), verdict, _f(tv.score))
            if ev:
                tab.add_row("", Text("↳ " + ev, style="dim"), "", "", "")
        else:
            tab.add_row(str(tv.depth), tv.name, tv.role, _shape(tv.shape), verdict, _f(tv.score), ev)
    return tab


def _names(names: list[str], k: int = 3) -> str:
    more = f" … (+{len(names) - k})" if len(names) > k else ""
    return ", ".join(names[:k]) + more


def undecisive_notes(result: ScanResult) -> list[str]:
    """Why tensors called 'untrained' did not make the checkpoint 'mixed', and when nothing was decided."""
    listed = set(result.untrained)
    un = [t for t in result.tensors if t.verdict == "untrained" and t.name not in listed]
    const = [t for t in un if t.group in ("norm", "running_stat")]
    weak = [t for t in un if t.group == "matrix"]
    small = [t for t in un if t.group not in ("norm", "running_stat", "matrix")]
    out = []
    if weak and result.verdict != "untrained":
        out.append(f"{len(weak)} weight matri{'ces' if len(weak) > 1 else 'x'} called untrained but not decisive for "
                   f"the checkpoint ({_names([t.name for t in weak])}): P(trained) above the 0.05 'mixed' cutoff, not after the last "
                   "trained layer and no constant bias beside them — a layer that barely moved in training looks the same")
    if small and result.verdict != "untrained":
        out.append(f"{len(small)} small or constant tensor(s) called untrained ({_names([t.name for t in small])}): biases, constants "
                   "and other non-matrix tensors are reported, and the checkpoint verdict is decided on weight matrices")
    if const and result.verdict != "untrained":
        out.append(f"{len(const)} norm / running-stat tensor(s) still at their constant init ({_names([t.name for t in const])}): "
                   "reported, not decisive (a frozen affine norm legitimately stays at 1/0)")
    judged = [t for t in result.tensors if t.verdict in ("trained", "untrained", "undetermined")]
    if judged and not any(t.verdict in ("trained", "untrained") for t in judged):
        out.append("no tensor could be decided (too few values, or matrices too thin for a spectrum)")
    return out


def dtype_history(result: ScanResult) -> list[str]:
    """Float32/64 tensors whose lowest fraction bits are all constant: values that went through a shorter
    float (bf16 keeps 7 fraction bits: 16 low bits zero in fp32; fp16 keeps 10: 13 low bits zero)."""
    groups: dict[str, list[str]] = {}
    for t in result.tensors:
        k = (t.stats or {}).get("low_bits_constant") or 0
        if t.dtype != "float32" or k < 13:
            continue
        kind = "bfloat16" if k >= 16 else "float16"
        groups.setdefault(kind, []).append(t.name)
    out = []
    for kind, names in groups.items():
        low = 16 if kind == "bfloat16" else 13
        out.append(f"{len(names)} float32 tensors have their {low}+ lowest fraction bits constant "
                   f"(stored via {kind}): {_names(names)}")
    return out


def render(result: ScanResult, console: Console | None = None, details: bool = False) -> None:
    console = console or Console()
    console.print(header(result))
    console.print(layer_table(result.layer_type_table()))
    if result.untrained:
        by_name = {t.name: t for t in result.tensors}
        deciding = [by_name[n] for n in result.untrained if n in by_name]
        console.print(tensor_table(deciding, f"Never-trained tensors that make the checkpoint '{result.verdict}'",
                                   n_evidence=2, width=console.width))
    for line in undecisive_notes(result):
        console.print(f"[dim]note:[/] {line}")
    if details:
        console.print(tensor_table(result.tensors, "Every tensor (network order)", n_evidence=1,
                                   width=console.width))
    hist = dtype_history(result)
    if hist:
        console.print("[cyan]dtype history:[/] " + "; ".join(hist))
    for w in result.warnings:
        console.print(f"[yellow]warning:[/] {w}")
    tm = result.timings
    console.print(f"[dim]load {tm.get('load', 0):.2f} s, analysis {tm.get('analysis', 0):.2f} s"
                  + (f", read + write .h5 {tm['h5']:.2f} s" if "h5" in tm else "")
                  + (f", report {tm['report']:.2f} s" if "report" in tm else "") + "[/]")
