"""The page skeleton shared by the scan, compare and zoo reports: one self-contained HTML document (CSS and
script inline, figures as inline SVG, system fonts only, nothing fetched), small HTML helpers (escaping,
tables, a verdict badge) and the atomic write."""
from __future__ import annotations

import html
import math
from datetime import datetime, timezone

VERDICT_COLORS = {"trained": "#2ca02c", "untrained": "#ff7f0e", "undetermined": "#7f7f7f",
                  "skipped": "#bbbbbb", "mixed": "#d62728", "error": "#6b4c9a"}

CSS = """
:root{--fg:#1d2430;--muted:#5b6575;--line:#d9dee6;--bg:#fff;--panel:#f6f8fb;--accent:#2f6fb5}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--fg);
background:var(--bg)}
main{max-width:1180px;margin:0 auto;padding:18px 22px 60px}
h1{font-size:20px;margin:4px 0 2px}h2{font-size:16px;margin:28px 0 8px;padding-bottom:4px;
border-bottom:1px solid var(--line)}h3{font-size:14px;margin:14px 0 6px}
.muted{color:var(--muted)}.small{font-size:12px}code,.mono{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,
Consolas,monospace;font-size:12px}
nav.toc{font-size:13px;margin:6px 0 0}nav.toc a{margin-right:12px}
a{color:var(--accent);text-decoration:none}a:hover{text-decoration:underline}
.banner{border-radius:8px;padding:14px 18px;margin:14px 0;color:#fff}
.banner .big{font-size:22px;font-weight:700;letter-spacing:.02em}
.banner .sub{opacity:.95;margin-top:2px}
.badge{display:inline-block;border-radius:4px;padding:0 6px;color:#fff;font-size:12px;font-weight:600;
white-space:nowrap}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{border-bottom:1px solid var(--line);padding:3px 8px;text-align:left;vertical-align:top}
th{background:var(--panel);position:sticky;top:0;z-index:1;white-space:nowrap}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
table.sortable th{cursor:pointer;user-select:none}
table.sortable th:after{content:" \\2195";color:#aab}
table.sortable th.asc:after{content:" \\25B2";color:var(--fg)}
table.sortable th.desc:after{content:" \\25BC";color:var(--fg)}
.filter{margin:4px 0 8px;padding:5px 8px;width:340px;max-width:100%;border:1px solid var(--line);
border-radius:4px;font:inherit}
.scroll{max-height:640px;overflow:auto;border:1px solid var(--line);border-radius:4px}
.kv td:first-child{color:var(--muted);white-space:nowrap;width:1%}
.kv td{word-break:break-all}
figure{margin:10px 0;display:inline-block;vertical-align:top}
figure svg{display:block;background:#fff}
figcaption{font-size:12px;color:var(--muted);max-width:560px}
.grid{display:flex;flex-wrap:wrap;gap:14px}
.tip{position:fixed;pointer-events:none;background:#1d2430;color:#fff;font-size:12px;padding:3px 7px;
border-radius:4px;display:none;z-index:9}
ul.names{columns:2;font-size:12px;margin:4px 0;padding-left:18px}
.evi{font-size:12px;color:var(--muted)}#tensor-table td .evi{display:inline-block;min-width:300px}
.warn{background:#fff6e0;border:1px solid #f0d48a;border-radius:4px;padding:6px 10px;margin:6px 0;font-size:13px}
details summary{cursor:pointer;margin:10px 0 4px}
footer{margin-top:40px;font-size:12px;color:var(--muted)}
"""

# Sorting: click a header (numbers sort by data-v when given, else by the cell text); filtering: the text box
# before a table hides rows whose text does not contain every word typed. Heatmaps: a tooltip from the
# SVG's data-* attributes (names, values) under the pointer.
JS = r"""
(function(){
function key(td){var v=td.getAttribute('data-v');if(v!==null){var f=parseFloat(v);return isNaN(f)?-Infinity:f;}
return td.textContent.trim().toLowerCase();}
document.querySelectorAll('table.sortable').forEach(function(t){
 var ths=t.tHead.rows[0].cells;
 Array.prototype.forEach.call(ths,function(th,i){th.addEventListener('click',function(){
  var asc=!th.classList.contains('asc');Array.prototype.forEach.call(ths,function(h){h.classList.remove('asc','desc');});
  th.classList.add(asc?'asc':'desc');var body=t.tBodies[0];var rows=Array.prototype.slice.call(body.rows);
  rows.sort(function(a,b){var x=key(a.cells[i]),y=key(b.cells[i]);
   if(typeof x!==typeof y){x=String(x);y=String(y);}return (x<y?-1:x>y?1:0)*(asc?1:-1);});
  rows.forEach(function(r){body.appendChild(r);});});});});
document.querySelectorAll('input.filter').forEach(function(inp){
 var t=document.getElementById(inp.getAttribute('data-table'));var n=document.getElementById(inp.getAttribute('data-count'));
 inp.addEventListener('input',function(){var words=inp.value.toLowerCase().split(/\s+/).filter(Boolean);var shown=0;
  Array.prototype.forEach.call(t.tBodies[0].rows,function(r){var s=r.textContent.toLowerCase();
   var ok=words.every(function(w){return s.indexOf(w)>=0;});r.style.display=ok?'':'none';if(ok)shown++;});
  if(n)n.textContent=shown;});});
var tip=document.createElement('div');tip.className='tip';document.body.appendChild(tip);
document.querySelectorAll('svg[data-heat]').forEach(function(s){
 var rows=JSON.parse(s.getAttribute('data-rows')),z=JSON.parse(s.getAttribute('data-z'));
 var g=JSON.parse(s.getAttribute('data-heat'));
 s.addEventListener('mousemove',function(e){var b=s.getBoundingClientRect(),sx=s.viewBox.baseVal.width/b.width;
  var x=(e.clientX-b.left)*sx,y=(e.clientY-b.top)*sx;var c=Math.floor((x-g.x0)/g.cw),r=Math.floor((y-g.y0)/g.ch);
  if(r<0||c<0||r>=rows.length||c>=g.nc){tip.style.display='none';return;}var v=z[r][c];
  tip.textContent=rows[r]+' \u00b7 bit '+c+' \u00b7 Z = '+(v===null?'constant':v);tip.style.display='block';
  tip.style.left=(e.clientX+12)+'px';tip.style.top=(e.clientY+12)+'px';});
 s.addEventListener('mouseleave',function(){tip.style.display='none';});});
})();
"""


def esc(x) -> str:
    return html.escape("" if x is None else str(x), quote=True)


def fmt(x, digits: int = 3) -> str:
    """A number for a cell: '—' for None/NaN, ints with thousands separators, floats to ``digits``."""
    if x is None:
        return "—"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return f"{x:,}"
    try:
        f = float(x)
    except (TypeError, ValueError):
        return esc(x)
    if math.isnan(f):
        return "—"
    if math.isinf(f):
        return "∞" if f > 0 else "-∞"
    if f != 0 and (abs(f) < 10 ** -digits or abs(f) >= 1e6):
        return f"{f:.{digits}g}"
    return f"{f:.{digits}f}"


def num_attr(x) -> str:
    """data-v for sorting: the number itself ('' sorts first)."""
    if x is None or isinstance(x, str):
        return ""
    try:
        f = float(x)
    except (TypeError, ValueError):
        return ""
    return "" if math.isnan(f) else repr(f) if not math.isinf(f) else ("1e308" if f > 0 else "-1e308")


def badge(verdict: str | None) -> str:
    v = verdict or "—"
    return f'<span class="badge" style="background:{VERDICT_COLORS.get(v, "#7f7f7f")}">{esc(v)}</span>'


def kv_table(rows) -> str:
    """Two-column key/value table; values are escaped text."""
    body = "".join(f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>" for k, v in rows if v not in (None, ""))
    return f'<table class="kv">{body}</table>'


def table(table_id: str, head: list[tuple[str, bool]], rows: list[list[tuple[str, object]]], *,
          sortable: bool = True, filter_label: str | None = None, scroll: bool = True) -> str:
    """An HTML table. ``head``: (label, numeric). ``rows``: cells as (inner HTML, sort value or None).
    With ``filter_label`` a text box before it filters the rows (the page script)."""
    ths = "".join(f'<th class="num">{esc(h)}</th>' if isnum else f"<th>{esc(h)}</th>" for h, isnum in head)
    trs = []
    for r in rows:
        tds = []
        for (cell, v), (_, isnum) in zip(r, head):
            cls = ' class="num"' if isnum else ""
            dv = f' data-v="{num_attr(v)}"' if isnum else ""
            tds.append(f"<td{cls}{dv}>{cell}</td>")
        trs.append("<tr>" + "".join(tds) + "</tr>")
    cls = ' class="sortable"' if sortable else ""
    t = f'<table id="{table_id}"{cls}><thead><tr>{ths}</tr></thead><tbody>{"".join(trs)}</tbody></table>'
    if scroll:
        t = f'<div class="scroll">{t}</div>'
    if filter_label:
        t = (f'<input class="filter" type="search" placeholder="{esc(filter_label)}" data-table="{table_id}" '
             f'data-count="{table_id}-n" aria-label="{esc(filter_label)}"> '
             f'<span class="small muted"><span id="{table_id}-n">{len(rows)}</span> of {len(rows)} shown</span>'
             + t)
    return t


def names_list(names, limit: int = 400) -> str:
    if not names:
        return '<p class="muted small">none</p>'
    items = "".join(f"<li><code>{esc(n)}</code></li>" for n in list(names)[:limit])
    more = f'<p class="muted small">… and {len(names) - limit} more</p>' if len(names) > limit else ""
    return f'<ul class="names">{items}</ul>{more}'


def document(title: str, body: str, sections: list[tuple[str, str]] = ()) -> str:
    """The whole page: ``body`` HTML inside <main>, a table of contents from (anchor, label)."""
    from ... import __version__

    toc = "".join(f'<a href="#{a}">{esc(lab)}</a>' for a, lab in sections)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    # the empty data: icon keeps the browser from asking for /favicon.ico
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1">'
            f'<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
            f'style-src \'unsafe-inline\'; script-src \'unsafe-inline\'; img-src data:">'
            f'<link rel="icon" href="data:,">'
            f"<title>{esc(title)}</title><style>{CSS}</style></head><body><main>"
            f'<h1>{esc(title)}</h1><nav class="toc">{toc}</nav>{body}'
            f'<footer>paramstat {esc(__version__)} · written {stamp} · one self-contained file: nothing here is '
            f"fetched from the network</footer></main><script>{JS}</script></body></html>\n")


def write_page(path, text: str, force: bool = False) -> None:
    """Write the page atomically (paramstat.atomic); refuses an existing file without ``force``."""
    from pathlib import Path

    from ...atomic import atomic_path

    with atomic_path(path, force) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")
