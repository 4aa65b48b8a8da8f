"""The zoo report page: many checkpoints by verdict, format and architecture, one anchor per checkpoint.

Takes plain rows so any producer can feed it (the `paramstat zoo` DuckDB summary, or scans gathered by
hand): one dict per checkpoint with ``source``, ``format``, ``architecture``, ``verdict``, ``score``
(P(trained)), ``n_params``, ``untrained`` (list of tensor names), ``error`` (None or a message); optional
per-checkpoint tensor rows (``name``, ``verdict``, ``score``) draw a score strip in its section."""
from __future__ import annotations

from collections import Counter

from . import svg
from .page import VERDICT_COLORS, badge, document, esc, fmt, names_list, table

SECTIONS = [("summary", "summary"), ("checkpoints", "checkpoints"), ("details", "per checkpoint")]
VERDICT_ORDER = ("trained", "mixed", "untrained", "error")
PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f")


def _verdict(row: dict) -> str:
    return row.get("verdict") or ("error" if row.get("error") else "—")


def anchor(i: int) -> str:
    """The id of checkpoint ``i``'s section (links: ``#ckpt-3``)."""
    return f"ckpt-{i}"


def zoo_page(checkpoints: list[dict], tensors_by_checkpoint: dict[str, list[dict]] | None = None, *,
             title: str | None = None) -> str:
    rows = list(checkpoints)
    tensors_by_checkpoint = tensors_by_checkpoint or {}
    body = [_summary(rows), _table(rows), _details(rows, tensors_by_checkpoint)]
    return document(title or f"paramstat zoo: {len(rows)} checkpoints", "".join(body), SECTIONS)


def _counts_fig(counter: Counter, title: str, colors=None, limit: int = 16) -> str:
    items = counter.most_common()
    if colors is None:
        items = items[:limit]
    else:
        items = sorted(items, key=lambda kv: (VERDICT_ORDER.index(kv[0]) if kv[0] in VERDICT_ORDER else 99, kv[0]))
    bars = [(k, n, (colors or {}).get(k, PALETTE[i % len(PALETTE)])) for i, (k, n) in enumerate(items)]
    return svg.bar_counts(bars, title=title)


def _summary(rows: list[dict]) -> str:
    by_v = Counter(_verdict(r) for r in rows)
    by_f = Counter(r.get("format") or "—" for r in rows)
    by_a = Counter(r.get("architecture") or "—" for r in rows)
    figs = [_counts_fig(by_v, "checkpoints by verdict", VERDICT_COLORS), _counts_fig(by_f, "by format"),
            _counts_fig(by_a, "by architecture (most common)")]
    verdicts = sorted(by_v, key=lambda v: VERDICT_ORDER.index(v) if v in VERDICT_ORDER else 99)
    xt_rows = []
    for arch, n in by_a.most_common():
        cells = [(esc(arch), None), (str(n), n)]
        for v in verdicts:
            k = sum(1 for r in rows if (r.get("architecture") or "—") == arch and _verdict(r) == v)
            cells.append((str(k) if k else "", k))
        xt_rows.append(cells)
    xt = table("arch-verdict", [("architecture", False), ("checkpoints", True)] + [(v, True) for v in verdicts],
               xt_rows, scroll=len(xt_rows) > 20)
    n_err = by_v.get("error", 0)
    return (f'<section id="summary"><h2>Summary</h2><p>{len(rows)} checkpoints, '
            f"{sum(int(r.get('n_params') or 0) for r in rows):,} parameters in all"
            + (f", {n_err} could not be read" if n_err else "") + '.</p><div class="grid">'
            + "".join(f"<figure>{f}</figure>" for f in figs) + f"</div><h3>Architecture × verdict</h3>{xt}</section>")


def _table(rows: list[dict]) -> str:
    head = [("#", True), ("source", False), ("format", False), ("architecture", False), ("verdict", False),
            ("P(trained)", True), ("parameters", True), ("untrained tensors", True), ("error", False)]
    body = []
    for i, r in enumerate(rows):
        unt = r.get("untrained") or []
        body.append([(str(i), i), (f'<a href="#{anchor(i)}"><code>{esc(r.get("source"))}</code></a>', None),
                     (esc(r.get("format") or ""), None), (esc(r.get("architecture") or ""), None),
                     (badge(_verdict(r)), None), (fmt(r.get("score")), r.get("score")),
                     (fmt(r.get("n_params")), r.get("n_params")), (str(len(unt)), len(unt)),
                     (f'<span class="evi">{esc(r.get("error") or "")}</span>', None)])
    return ('<section id="checkpoints"><h2>Checkpoints</h2><p class="small muted">Click a header to sort; type to '
            "filter (e.g. <code>mixed</code>, a format or an architecture); a source links to its section.</p>"
            + table("zoo-table", head, body, filter_label="filter checkpoints …") + "</section>")


def _details(rows: list[dict], tensors: dict[str, list[dict]]) -> str:
    out = ['<section id="details"><h2>Per checkpoint</h2>']
    for i, r in enumerate(rows):
        v = _verdict(r)
        out.append(f'<div id="{anchor(i)}"><h3>{i}. <code>{esc(r.get("source"))}</code> {badge(v)} '
                   f'<span class="muted small">P(trained) {fmt(r.get("score"))} · {esc(r.get("format") or "—")} · '
                   f'{esc(r.get("architecture") or "—")} · {fmt(r.get("n_params"))} parameters</span></h3>')
        if r.get("error"):
            out.append(f'<div class="warn">{esc(r["error"])}</div>')
        unt = r.get("untrained") or []
        if unt:
            out.append(f'<p class="small">never-trained tensors ({len(unt)}):</p>{names_list(unt, 40)}')
        ts = tensors.get(r.get("source"))
        if ts:
            fig = svg.per_tensor_scatter([t["name"] for t in ts], [t.get("score") for t in ts],
                                         [t.get("verdict") or "skipped" for t in ts], ylabel="P(trained)",
                                         title="score per tensor", y_range=(-0.03, 1.03), hline=0.5,
                                         mark=set(unt), width=900, height=170)
            out.append(f"<figure>{fig}</figure>")
        out.append('<p class="small"><a href="#checkpoints">↑ back to the table</a></p></div>')
    out.append("</section>")
    return "".join(out)
