"""The compare report page, rendered from CompareResult.to_dict() (the --json numbers) plus the paired
subsample histograms the result keeps per changed tensor; nothing here computes a statistic."""
from __future__ import annotations

import numpy as np

from . import svg
from .data import CompareResult, relation_color
from .page import document, esc, fmt, kv_table, names_list, table

SECTIONS = [("relation", "relation"), ("change", "change per layer"), ("lists", "changed / identical / mismatched"),
            ("hists", "histograms"), ("tensors", "every pair"), ("inputs", "inputs")]
IDENTICAL = "identical"


def compare_page(result: CompareResult, n_hists: int = 6) -> str:
    d = result.to_dict()
    order = sorted(range(len(result.tensors)), key=lambda i: result.tensors[i].depth)   # network order
    tensors = [d["tensors"][i] for i in order]
    body = [_banner(d), _change(tensors), _lists(d, tensors), _hists(result, n_hists), _table(tensors),
            _inputs(d)]
    return document(f"paramstat compare: {_short(d['source_a'])} → {_short(d['source_b'])}", "".join(body),
                    SECTIONS)


def _short(s: str) -> str:
    return s.rstrip("/").rsplit("/", 1)[-1] or s


def _rel_badge(label) -> str:
    lab = label or "moved (constant side)"
    return f'<span class="badge" style="background:{relation_color(label)}">{esc(lab)}</span>'


def _banner(d: dict) -> str:
    rel = d["relation"] or "—"
    counts = ", ".join(f"{n} {esc(k)}" for k, n in sorted(d["counts"].items(), key=lambda kv: -kv[1]))
    out = [f'<section id="relation"><div class="banner" style="background:{relation_color(d["relation"])}">'
           f'<div class="big">{esc(rel.upper())}</div>'
           f'<div class="sub">A = {esc(d["source_a"])} ({d["params_a"]:,} parameters) · B = {esc(d["source_b"])} '
           f'({d["params_b"]:,}) · {d["params_compared"]:,} compared</div>'
           f'<div class="sub">{esc(d["relation_detail"])}</div></div>'
           f"<p>Pairs by relation: {counts or 'none'}"
           + ("" if d["relation_covers_all"] else " · <b>the relation does not cover both checkpoints whole</b> "
              "(names only in one side or shapes that differ: see the lists below)") + "</p>"]
    for w in d.get("warnings") or []:
        out.append(f'<div class="warn">warning: {esc(w)}</div>')
    out.append("</section>")
    return "".join(out)


def _change(tensors: list[dict]) -> str:
    names = [t["name"] for t in tensors]
    vals = [t["rel_change"] for t in tensors]
    cols = [relation_color(t["relation"]) for t in tensors]
    fig = svg.per_tensor_scatter(names, vals, cols, ylabel="||B−A|| / ||A||", logy=True,
                                 title="relative change per tensor (network order, log scale)",
                                 zero_label="identical")
    seen: dict[str, str] = {}
    for t in tensors:
        seen.setdefault(t["relation"] or "moved (constant side)", relation_color(t["relation"]))
    leg = " · ".join(f'<span style="color:{c}">●</span> {esc(k)}' for k, c in seen.items())
    return (f'<section id="change"><h2>Change per layer</h2><figure>{fig}<figcaption>{leg}. Tensors whose values '
            f"are all equal (relative change exactly 0) are ticks on the 'identical' strip; ▲ at the top: A is zero "
            f"and B is not. Hover a point for its name.</figcaption></figure></section>")


def _hists(result: CompareResult, n: int) -> str:
    figs = []
    for td in result.top_changed(n):
        h = td.hist
        if not h or not h.get("edges"):
            continue
        e = np.asarray(h["edges"], dtype=float)
        a, b = np.asarray(h["a"], dtype=float), np.asarray(h["b"], dtype=float)
        sub = f"{td.relation or 'moved'} · rel change {fmt(td.rel_change)} · cos {fmt(td.cosine)} · KS D {fmt(td.ks_d)}"
        figs.append("<figure>" + svg.histogram(a, e, overlay=b, title=td.name, subtitle=sub,
                                                 labels=(f"A ({td.subsample_n:,} values)", "B (same positions)"))
                    + "</figure>")
    if not figs:
        return ('<section id="hists"><h2>Histograms A vs B</h2><p class="muted">No tensor changed.</p></section>')
    return ('<section id="hists"><h2>Histograms A vs B (most-changed tensors)</h2><div class="grid">'
            + "".join(figs) + '</div><p class="small muted">Counts of the paired subsample on shared edges '
            "(0.1–99.9 % range of both).</p></section>")


def _table(tensors: list[dict]) -> str:
    head = [("depth", True), ("name", False), ("role", False), ("shape", False), ("dtype A→B", False),
            ("relation", False), ("rel change", True), ("cosine", True), ("KS D", True), ("Δ std", True),
            ("changed", True), ("cast", False)]
    rows = []
    for t in tensors:
        dt = t["dtype_a"] if t["dtype_a"] == t["dtype_b"] else f"{t['dtype_a']}→{t['dtype_b']}"
        nm = esc(t["name"]) + (f" ↔ {esc(t['name_b'])}" if t.get("name_b") else "")
        rows.append([(str(t["depth"]), t["depth"]), (f"<code>{nm}</code>", None), (esc(t["role"]), None),
                     (esc("×".join(map(str, t["shape"])) or "scalar"), None), (esc(dt), None),
                     (_rel_badge(t["relation"]), None), (fmt(t["rel_change"], 4), t["rel_change"]),
                     (fmt(t["cosine"], 4), t["cosine"]), (fmt(t["ks_d"], 4), t["ks_d"]), (fmt(t["d_std"], 4), t["d_std"]),
                     (f"{100 * t['frac_changed']:.1f} %", t["frac_changed"]), (esc(t.get("cast") or ""), None)])
    return ('<section id="tensors"><h2>Every matched pair</h2><p class="small muted">Click a header to sort; type to '
            "filter.</p>" + table("pair-table", head, rows, filter_label="filter pairs: name, role, relation …")
            + "</section>")


def _named(title: str, names: list[str], note: str = "", open_below: int = 40) -> str:
    """A list of names under a heading; long lists fold (<details>) so the next list stays in sight."""
    inner = note + names_list(names)
    opened = " open" if len(names) <= open_below else ""
    return (f'<details{opened}><summary><h3 style="display:inline">{esc(title)} ({len(names)})</h3></summary>'
            f"{inner}</details>")


def _lists(d: dict, tensors: list[dict]) -> str:
    changed = [t["name"] for t in tensors if not t["equal"]]
    identical = [t["name"] for t in tensors if t["equal"]]
    mism = d["shape_mismatch"]
    frozen = d["unchanged_while_others_moved"]
    note = (f'<p class="small muted">{len(frozen)} of them unchanged while others moved (frozen layers?)</p>'
            if frozen else "")
    out = ['<section id="lists"><h2>Changed, identical, mismatched</h2>', _named("Changed", changed),
           f"<h3>Shape mismatch ({len(mism)})</h3>"]
    if mism:
        rows = [[(f"<code>{esc(m.get('name'))}</code>", None), (esc(m.get("shape_a")), None), (esc(m.get("shape_b")), None)]
                for m in mism]
        out.append(table("mismatch", [("name", False), ("shape A", False), ("shape B", False)], rows,
                         sortable=False, scroll=False))
    else:
        out.append('<p class="muted small">none</p>')
    out += [_named("Only in A", d["only_in_a"]), _named("Only in B", d["only_in_b"]),
            _named("Identical values", identical, note)]
    if d["non_float"]:
        nf = [f"{x['name']} ({'equal' if x['equal'] else 'differs'})" for x in d["non_float"]]
        out.append(_named("Integer / bool tensors", nf))
    out.append("</section>")
    return "".join(out)


def _inputs(d: dict) -> str:
    from ... import __version__

    rows = [("A", d["source_a"]), ("B", d["source_b"]), ("parameters A", f"{d['params_a']:,}"),
            ("parameters B", f"{d['params_b']:,}"), ("prefix removed", d["prefix_removed"] or None),
            ("paired by position", d["paired_by_position"] or None),
            ("options", ", ".join(f"{k}={v}" for k, v in d["options"].items())),
            ("elapsed", f"{d['elapsed_s']:.2f} s"), ("paramstat_version", __version__)]
    return f'<section id="inputs"><h2>Inputs</h2>{kv_table(rows)}</section>'
