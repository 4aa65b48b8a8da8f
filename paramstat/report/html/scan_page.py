"""The scan report page: rendered from ScanResult.to_dict() (the --json numbers) and the figure data of
paramstat.verdict.plotdata.plot_data (same tensors, same fits); nothing here computes a statistic."""
from __future__ import annotations

import math

import numpy as np

from . import svg
from .data import ScanResult, scan_plot_data
from .page import VERDICT_COLORS, badge, document, esc, fmt, kv_table, table

SECTIONS = [("verdict", "verdict"), ("scores", "score per tensor"), ("table3", "Table 3"),
            ("bits", "bit heatmap"), ("dists", "histograms & spectra"), ("tensors", "every tensor"),
            ("provenance", "provenance")]


def scan_page(result: ScanResult) -> str:
    """The whole HTML page for one scan (``result`` from ``paramstat.scan(..., keep_bits=True)``: without
    the per-bit runs Z the heatmap section says so)."""
    d = result.to_dict()
    pd = scan_plot_data(result)
    body = [_banner(d), _scores(pd, d), _table3(d), _bits(pd), _dists(pd), _tensors(d), _provenance(d)]
    return document(f"paramstat scan: {_short_source(d['source'])}", "".join(body), SECTIONS)


def _short_source(s: str) -> str:
    return s.rstrip("/").rsplit("/", 1)[-1] or s


def _banner(d: dict) -> str:
    v = d["verdict"]
    c = d["counts"]
    counts = ", ".join(f"{c.get(k, 0)} {k}" for k in ("trained", "untrained", "undetermined", "skipped"))
    out = [f'<section id="verdict"><div class="banner" style="background:{VERDICT_COLORS.get(v, "#555")}">'
           f'<div class="big">{esc(v.upper())} &nbsp; P(trained) = {fmt(d["score"])}</div>'
           f'<div class="sub">{esc(d["source"])} [{esc(d["format"])}] · {d["n_params"]:,} parameters in '
           f'{len(d["tensors"])} tensors · {counts}</div></div>']
    for w in d.get("warnings") or []:
        out.append(f'<div class="warn">warning: {esc(w)}</div>')
    index = {t["name"]: i for i, t in enumerate(d["tensors"])}
    if d["untrained"]:
        out.append(f"<h3>Never-trained tensors ({len(d['untrained'])}) and their evidence</h3>")
        rows = []
        for name in d["untrained"]:
            t = d["tensors"][index[name]]
            ev = "".join(f"<div>{esc(e['text'])} <span class='muted'>({_signed(e['contribution'])})</span></div>"
                         for e in (t.get("evidence") or [])[:3])
            rows.append([(f'{index[name]}', index[name]),
                         (f'<a href="#t-{index[name]}"><code>{esc(name)}</code></a><div class="evi">{ev}</div>', None),
                         (esc(_shape(t["shape"])), None), (badge(t["verdict"]), None), (fmt(t["score"]), t["score"])])
        out.append(table("untrained", [("#", True), ("name / top evidence (log-odds toward trained)", False),
                                       ("shape", False), ("verdict", False), ("score", True)], rows,
                         sortable=False, scroll=False))
    elif v == "untrained":
        out.append(f'<p>The checkpoint as a whole looks freshly initialized: {c.get("untrained", 0)} of '
                   f'{len(d["tensors"])} tensors untrained (filter the <a href="#tensors">tensor table</a> '
                   "by <code>untrained</code> for each one's evidence).</p>")
    else:
        out.append('<p class="muted">No never-trained tensor decides the verdict.</p>')
    out.append("</section>")
    return "".join(out)


def _signed(x) -> str:
    return "—" if x is None else f"{x:+.2f}"


def _shape(shape) -> str:
    return "×".join(map(str, shape)) if shape else "scalar"


def _scores(pd, d: dict) -> str:
    fig = svg.per_tensor_scatter(
        pd.score_names, [None if math.isnan(s) else float(s) for s in pd.scores], pd.verdicts,
        ylabel="P(trained)", title="score per tensor (network order; skipped tensors left out)",
        y_range=(-0.03, 1.03), hline=0.5, mark=set(d["untrained"]))
    n = {v: pd.verdicts.count(v) for v in ("trained", "untrained", "undetermined")}
    leg = " · ".join(f'<span style="color:{VERDICT_COLORS[k]}">●</span> {k} ({c})' for k, c in n.items() if c)
    return (f'<section id="scores"><h2>Score per tensor</h2><figure>{fig}<figcaption>{leg}. Large outlined '
            f"points: the never-trained tensors behind the verdict. Hover a point for its name.</figcaption>"
            f"</figure></section>")


def _table3(d: dict) -> str:
    rows_in = d["layer_types"]
    labels = list(rows_in[0]["max_abs_z"]) if rows_in else ["frac 0-7", "frac 8-15", "frac 16-22"]
    head = [("layer type", False), ("#", True)] + [(f"{lab} max |Z|", True) for lab in labels] + \
           [("mean |Z|", True)] + [(v, True) for v in ("trained", "untrained", "undetermined", "skipped")]
    rows = []
    for r in rows_in:
        cells = [(esc(r["layer_type"]), None), (str(r["n_layers"]), r["n_layers"])]
        cells += [(fmt(r["max_abs_z"].get(lab)), r["max_abs_z"].get(lab)) for lab in labels]
        cells.append((fmt(r["mean_abs_z"]), r["mean_abs_z"]))
        cells += [(str(r["counts"].get(v, "")), r["counts"].get(v, 0))
                  for v in ("trained", "untrained", "undetermined", "skipped")]
        rows.append(cells)
    return ('<section id="table3"><h2>Runs tests on fraction bits per layer type (the seed\'s Table 3)</h2>'
            '<p class="small muted">max |runs Z| of the fraction bits in each group over the tensors of the type, '
            "mean |Z| over every non-constant fraction bit, and the verdict counts (docs/TABLE3.md).</p>"
            + table("t3", head, rows, scroll=False) + "</section>")


def heat_vmax(z: np.ndarray) -> float:
    """Colour limit of the heatmap (as the PNG plot): the fraction bits' 99.5th |Z| percentile in [4, 30]."""
    frac = np.abs(z[:, : min(z.shape[1], 23)])
    return float(np.clip(np.nanpercentile(frac, 99.5), 4.0, 30.0)) if np.isfinite(frac).any() else 4.0


def _bits(pd) -> str:
    z = pd.bit_z
    if z.size == 0 or not np.isfinite(z).any():
        return ('<section id="bits"><h2>Bit-position heatmap of runs Z</h2><p class="muted">No per-bit runs Z '
                "kept (scan with keep_bits=True) or every analysed tensor is constant.</p></section>")
    vmax = heat_vmax(z)
    fig = svg.heatmap(z, pd.bit_names, vmax=vmax, title=f"Wald–Wolfowitz runs Z per bit position "
                      f"({z.shape[0]} tensors; colours clipped at ±{vmax:.0f}, max |Z| {np.nanmax(np.abs(z)):.0f})",
                      xlabel="bit position (0 = least significant; fp32: fraction 0-22, exponent 23-30, sign 31)")
    return (f'<section id="bits"><h2>Layer × bit-position heatmap of runs Z</h2><figure>{fig}<figcaption>One row '
            f"per analysed tensor in network order; grey = constant bit. i.i.d. draws give |Z| of a few units in "
            f"the low fraction bits; hover a cell for tensor, bit and Z.</figcaption></figure></section>")


def _hist_fig(h) -> str:
    vals = np.asarray(h.values, dtype=float)
    if h.curves:
        x0, x1 = float(h.curves[0][1][0]), float(h.curves[0][1][-1])
    else:
        x0, x1 = float(vals.min()), float(vals.max())
    lo, hi = np.percentile(vals, [0.1, 99.9])
    pad = 0.25 * (hi - lo) if hi > lo else 1e-12
    lo, hi = max(x0, lo - pad), min(x1, hi + pad)
    if not hi > lo:
        lo, hi = float(vals.min()) - 0.5, float(vals.max()) + 0.5
    inside = vals[(vals >= lo) & (vals <= hi)]
    counts, edges = np.histogram(inside, bins=int(np.clip(2 * np.sqrt(vals.size), 8, 60)), range=(lo, hi))
    dens = counts / (vals.size * (edges[1] - edges[0]))     # density of all values, bars inside the view
    colors = ("#d62728", "#2ca02c", "#9467bd")
    curves = []
    for (lab, x, y), c in zip(h.curves, colors):
        x, y = np.asarray(x), np.asarray(y)
        m = (x >= lo) & (x <= hi)
        curves.append((lab, x[m], y[m], c))
    n_out = vals.size - inside.size
    sub = (f"{h.verdict} · score {fmt(h.score)} · n={h.n:,}" + (f" ({vals.size:,} drawn)" if vals.size < h.n else "")
           + (f" · {n_out} off view" if n_out else ""))
    return svg.histogram(dens, edges, curves=curves, title=h.name, subtitle=sub, labels=("values", ""))


def _spec_fig(s) -> str:
    ev = np.asarray(s.evals, dtype=float)
    top = float(ev.max())
    bins = int(np.clip(ev.size // 4, 10, 80))
    counts, edges = np.histogram(ev, bins=bins, range=(0.0, max(top, s.edge) * 1.02))
    dens = counts / (ev.size * (edges[1] - edges[0]))
    sub = f"{s.verdict} · {s.shape[0]}×{s.shape[1]} · q={s.q:.2f} · top/edge={top / s.edge:.2f} · {s.n_spikes} spikes"
    return svg.histogram(dens, edges, curves=[(f"Marchenko–Pastur σ²={s.sigma2:.2e}", s.mp_x, s.mp_pdf, "#d62728")],
                         title=s.name, subtitle=sub, logy=True, vline=(s.edge, "MP edge"),
                         labels=("eigenvalues of WᵀW/N", ""))


def _dists(pd) -> str:
    out = ['<section id="dists"><h2>Histograms with fitted pdfs</h2>']
    if pd.hists:
        out.append('<div class="grid">' + "".join(f"<figure>{_hist_fig(h)}</figure>" for h in pd.hists) + "</div>")
        out.append('<p class="small muted">The never-trained tensors and the largest analysed ones; curves: the '
                   "best families by BIC from the verdict's fits (KS D in the legend).</p>")
    else:
        out.append('<p class="muted">No tensor to draw.</p>')
    out.append("<h2>Spectra against Marchenko–Pastur</h2>")
    if pd.spectra:
        out.append('<div class="grid">' + "".join(f"<figure>{_spec_fig(s)}</figure>" for s in pd.spectra) + "</div>")
        out.append('<p class="small muted">Eigenvalues of WᵀW/N (N = larger side; conv kernels as (out, in·k·k)) '
                   "against the Marchenko–Pastur law of an i.i.d. matrix with the same entry variance; trained "
                   "layers put eigenvalues past the edge.</p>")
    else:
        out.append('<p class="muted">No matrix among the drawn tensors.</p>')
    out.append("</section>")
    return "".join(out)


def _tensors(d: dict) -> str:
    head = [("#", True), ("name", False), ("role", False), ("layer type", False), ("shape", False),
            ("dtype", False), ("verdict", False), ("score", True), ("top evidence", False)]
    rows = []
    for i, t in enumerate(d["tensors"]):
        ev = (t.get("evidence") or [])
        top = esc(ev[0]["text"]) if ev else ""
        rows.append([(f'<span id="t-{i}">{i}</span>', i), (f"<code>{esc(t['name'])}</code>", None),
                     (esc(t["role"]), None), (esc(t.get("layer_type") or ""), None), (esc(_shape(t["shape"])), None),
                     (esc(t["dtype"]), None), (badge(t["verdict"]), None), (fmt(t["score"]), t["score"]),
                     (f'<span class="evi">{top}</span>', None)])
    return ('<section id="tensors"><h2>Every tensor</h2><p class="small muted">Click a header to sort; type to '
            "filter (every word must match: try <code>untrained</code> or <code>conv</code>).</p>"
            + table("tensor-table", head, rows, filter_label="filter tensors: name, role, verdict, evidence …")
            + "</section>")


def _provenance(d: dict) -> str:
    from ... import __version__

    p = dict(d.get("provenance") or {})
    rows = [("source", d["source"]), ("format", d["format"])]
    rows += [(k, v) for k, v in p.items() if not (k in ("source", "format") and v == d[k])]
    rows.append(("paramstat_version", __version__))
    t = d.get("timings") or {}
    rows.append(("timings", ", ".join(f"{k} {v:.2f} s" for k, v in t.items() if isinstance(v, (int, float)))))
    return f'<section id="provenance"><h2>Provenance</h2>{kv_table(rows)}</section>'
