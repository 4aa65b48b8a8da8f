"""Small inline SVG figures drawn from numbers handed in (no statistics here): axes with nice ticks, a
scatter of values per tensor in network order, bar histograms with curves, a heatmap, horizontal bar
counts. Coordinates are rounded to 0.1 px so the files stay small; text uses the system sans-serif."""
from __future__ import annotations

import json
import math

import numpy as np

from .page import VERDICT_COLORS, esc

FONT = 'font-family="system-ui,-apple-system,Segoe UI,Roboto,DejaVu Sans,sans-serif"'


def _r(x: float) -> str:
    s = f"{x:.1f}"
    return s[:-2] if s.endswith(".0") else s


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values covering [lo, hi] (steps 1, 2, 2.5, 5 x 10^k)."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.ceil(lo / step - 1e-9) * step
    out, t = [], start
    while t <= hi + 1e-9 * step:
        out.append(0.0 if abs(t) < step * 1e-9 else t)
        t += step
    return out


def tick_label(t: float) -> str:
    if t == 0:
        return "0"
    a = abs(t)
    if a >= 1e4 or a < 1e-3:
        return f"{t:.0e}".replace("e-0", "e-").replace("e+0", "e")
    return f"{t:.4g}"


class Axes:
    """Data -> pixel mapping for one plot area, linear x, linear or log10 y."""

    def __init__(self, w: int, h: int, x0: float, x1: float, y0: float, y1: float, *, logy: bool = False,
                 margin=(46, 12, 14, 34)):
        self.w, self.h = w, h
        self.ml, self.mr, self.mt, self.mb = margin
        self.logy = logy
        if x1 <= x0:
            x1 = x0 + 1.0
        self.x0, self.x1 = x0, x1
        if logy:
            y0, y1 = math.log10(y0), math.log10(y1)
        if y1 <= y0:
            y1 = y0 + 1.0
        self.y0, self.y1 = y0, y1

    def px(self, x: float) -> float:
        return self.ml + (x - self.x0) / (self.x1 - self.x0) * (self.w - self.ml - self.mr)

    def py(self, y: float) -> float:
        if self.logy:
            y = math.log10(y) if y > 0 else self.y0
        return self.h - self.mb - (y - self.y0) / (self.y1 - self.y0) * (self.h - self.mt - self.mb)

    @property
    def bottom(self) -> float:
        return self.h - self.mb

    def frame(self, xlabel: str = "", ylabel: str = "", xticks=True, yticks=True) -> str:
        """Axis lines, ticks and labels."""
        L, R, T, B = self.ml, self.w - self.mr, self.mt, self.h - self.mb
        out = [f'<path d="M{_r(L)} {_r(T)}V{_r(B)}H{_r(R)}" fill="none" stroke="#555" stroke-width="1"/>']
        if xticks:
            for t in nice_ticks(self.x0, self.x1, 6):
                x = self.px(t)
                out.append(f'<path d="M{_r(x)} {_r(B)}v4" stroke="#555"/>'
                           f'<text x="{_r(x)}" y="{_r(B + 14)}" text-anchor="middle">{tick_label(t)}</text>')
        if yticks:
            if self.logy:
                ks = range(math.floor(self.y0), math.ceil(self.y1) + 1)
                ts = [10.0 ** k for k in ks if self.y0 - 1e-9 <= k <= self.y1 + 1e-9]
                if len(ts) < 3:                 # less than two decades: 1, 2, 5 x 10^k
                    ts = [m * 10.0 ** k for k in ks for m in (1, 2, 5)
                          if self.y0 - 1e-9 <= math.log10(m * 10.0 ** k) <= self.y1 + 1e-9]
                if len(ts) > 6:
                    ts = ts[:: math.ceil(len(ts) / 6)]
            else:
                ts = nice_ticks(self.y0, self.y1, 4)
            for t in ts:
                y = self.py(t)
                out.append(f'<path d="M{_r(L - 4)} {_r(y)}h4" stroke="#555"/>'
                           f'<path d="M{_r(L)} {_r(y)}H{_r(R)}" stroke="#eee"/>'
                           f'<text x="{_r(L - 6)}" y="{_r(y + 4)}" text-anchor="end">{tick_label(t)}</text>')
        if xlabel:
            out.append(f'<text x="{_r((L + R) / 2)}" y="{_r(self.h - 4)}" text-anchor="middle">{esc(xlabel)}</text>')
        if ylabel:
            out.append(f'<text transform="translate(11 {_r((T + B) / 2)}) rotate(-90)" '
                       f'text-anchor="middle">{esc(ylabel)}</text>')
        return "".join(out)


def svg(w: int, h: int, inner: str, label: str, attrs: str = "") -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
            f'role="img" aria-label="{esc(label)}" {FONT} font-size="11" fill="#1d2430" {attrs}>'
            f"<title>{esc(label)}</title>{inner}</svg>")


def legend(items: list[tuple[str, str]], x: float, y: float, dy: float = 14) -> str:
    """(color, label) rows starting at (x, y)."""
    out = []
    for i, (c, lab) in enumerate(items):
        yy = y + i * dy
        out.append(f'<rect x="{_r(x)}" y="{_r(yy - 8)}" width="10" height="10" fill="{c}"/>'
                   f'<text x="{_r(x + 14)}" y="{_r(yy + 1)}">{esc(lab)}</text>')
    return "".join(out)


# ------------------------------------------------------------------------------------------ figures
def per_tensor_scatter(names: list[str], values: list[float | None], verdicts: list[str], *,
                       ylabel: str, title: str, logy: bool = False, y_range=None, hline: float | None = None,
                       mark: set[str] = frozenset(), width: int = 1120, height: int = 280,
                       zero_label: str | None = None) -> str:
    """One point per tensor against its index in network order, coloured by verdict (VERDICT_COLORS) or by
    a colour given as '#rrggbb'; ``mark``: names drawn large and labelled. None/NaN are left out. On a log
    axis a value of exactly 0 is a tick on the floor strip (``zero_label`` names it) and +inf a triangle at
    the top: no floor value can be read as a small number."""
    def finite(v):
        return v is not None and math.isfinite(v) and not (logy and v <= 0)

    vals = [float(v) if finite(v) else None for v in values]
    got = [v for v in vals if v is not None]
    if y_range is None:
        lo, hi = (min(got), max(got)) if got else ((1e-3, 10.0) if logy else (0.0, 1.0))
        if logy:
            lo, hi = lo / 3, hi * 3
        else:
            pad = 0.05 * (hi - lo or 1.0)
            lo, hi = lo - pad, hi + pad
        y_range = (lo, hi)
    strip = 18 if logy and any(v == 0 for v in values if v is not None) else 0
    ax = Axes(width, height, -0.5, max(len(names), 1) - 0.5, *y_range, logy=logy,
              margin=(56, 14, 26, 36 + strip))
    out = [ax.frame("tensor index in network order", ylabel)]
    out.append(f'<text x="{ax.ml}" y="15" font-weight="600">{esc(title)}</text>')
    if hline is not None:
        y = ax.py(hline)
        out.append(f'<path d="M{_r(ax.ml)} {_r(y)}H{_r(width - ax.mr)}" stroke="#333" stroke-dasharray="3 3"/>')
    if strip:
        out.append(f'<text x="{_r(ax.ml - 6)}" y="{_r(ax.bottom + 27)}" text-anchor="end" font-size="9">'
                   f'{esc(zero_label or "0")}</text>')
    pts, big = [], []
    top_y = ax.mt + 2
    for i, (n, raw, v, verd) in enumerate(zip(names, values, vals, verdicts)):
        c = verd if verd.startswith("#") else VERDICT_COLORS.get(verd, "#7f7f7f")
        x = ax.px(i)
        if v is None:
            if strip and raw == 0:
                pts.append(f'<path d="M{_r(x)} {_r(ax.bottom + 18)}v10" stroke="{c}" stroke-width="1.5">'
                           f"<title>{esc(n)}: 0</title></path>")
            elif logy and raw is not None and raw == math.inf:
                pts.append(f'<path d="M{_r(x - 4)} {_r(top_y + 6)}h8l-4 -7z" fill="{c}"><title>{esc(n)}: inf'
                           f"</title></path>")
            continue
        lo_c, hi_c = (10 ** ax.y0, 10 ** ax.y1) if logy else (ax.y0, ax.y1)
        y = ax.py(min(max(v, lo_c), hi_c))
        if n in mark:
            big.append(f'<circle cx="{_r(x)}" cy="{_r(y)}" r="6" fill="{c}" stroke="#000" stroke-width="1.5">'
                       f"<title>{esc(n)}: {v:.4g}</title></circle>"
                       + _point_label(x, y, n, width))
        else:
            pts.append(f'<circle cx="{_r(x)}" cy="{_r(y)}" r="3" fill="{c}"><title>{esc(n)}: {v:.4g}</title></circle>')
    out += pts + big
    return svg(width, height, "".join(out), title)


def _point_label(x: float, y: float, name: str, width: int) -> str:
    """A marked point's name beside it: to the right, or to the left in the right third of the figure."""
    left = x > width * 2 / 3
    anchor = ' text-anchor="end"' if left else ""
    return (f'<text x="{_r(x - 8 if left else x + 8)}" y="{_r(y - 8)}" font-size="10" fill="#000"{anchor}>'
            f"{esc(_short(name, 40))}</text>")


def _short(name: str, n: int = 38) -> str:
    if len(name) <= n:
        return name
    head = (n - 1) // 3
    return name[:head] + "…" + name[-(n - 1 - head):]


def histogram(counts, edges, *, curves=(), title: str, subtitle: str = "", color: str = "#9ecae1",
              overlay=None, overlay_color: str = "#ff7f0e", labels=("", ""), logy: bool = False,
              vline: tuple[float, str] | None = None, width: int = 360, height: int = 250) -> str:
    """Bars of ``counts`` (already densities or counts) over ``edges``; ``overlay``: a second set of bars
    on the same edges drawn as a step line; ``curves``: (label, x, y, colour) lines; ``vline``: (x, label)."""
    counts = np.asarray(counts, dtype=float)
    edges = np.asarray(edges, dtype=float)
    ys = [counts] + ([np.asarray(overlay, dtype=float)] if overlay is not None else [])
    ys += [np.asarray(c[2], dtype=float) for c in curves]
    top = max((float(np.nanmax(y)) for y in ys if y.size), default=1.0) or 1.0
    x0, x1 = float(edges[0]), float(edges[-1])
    for c in curves:
        x0, x1 = min(x0, float(np.min(c[1]))), max(x1, float(np.max(c[1])))
    n_leg = bool(labels[0]) + (overlay is not None and bool(labels[1])) + len(curves) + (vline is not None)
    mt = 36 + 12 * n_leg                       # the legend sits above the plot, never on the data
    height += 12 * n_leg
    if logy:
        pos = [float(np.min(y[y > 0])) for y in ys if (y > 0).any()]
        lo = max(min(pos) if pos else top * 1e-4, top * 1e-5)
        ax = Axes(width, height, x0, x1, lo / 1.5, top * 1.5, logy=True, margin=(46, 10, mt, 34))
    else:
        ax = Axes(width, height, x0, x1, 0.0, top * 1.08, margin=(46, 10, mt, 34))
    out = [f'<text x="6" y="13" font-weight="600">{esc(_short(title, 52))}</text>',
           f'<text x="6" y="27" font-size="9.5" fill="#5b6575">{esc(subtitle)}</text>']
    out.append(ax.frame())
    d = []
    for c, a, b in zip(counts, edges[:-1], edges[1:]):
        if c > 0:
            y = ax.py(c)
            d.append(f"M{_r(ax.px(a))} {_r(ax.bottom)}V{_r(y)}H{_r(ax.px(b))}V{_r(ax.bottom)}z")
    out.append(f'<path d="{"".join(d)}" fill="{color}" stroke="{color}" stroke-width="0.3"/>')
    if overlay is not None:
        ov = np.asarray(overlay, dtype=float)
        pts = [f"M{_r(ax.px(edges[0]))} {_r(ax.bottom)}"]
        for c, b in zip(ov, edges[1:]):
            y = ax.py(c) if c > 0 else ax.bottom
            pts.append(f"V{_r(y)}H{_r(ax.px(b))}")
        pts.append(f"V{_r(ax.bottom)}")
        out.append(f'<path d="{"".join(pts)}" fill="none" stroke="{overlay_color}" stroke-width="1.4"/>')
    leg = []
    if labels[0]:
        leg.append((color, labels[0]))
    if overlay is not None and labels[1]:
        leg.append((overlay_color, labels[1]))
    for lab, x, y, c in curves:
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        keep = np.isfinite(y) & ((y > 0) if logy else True)
        step = max(1, x.size // 160)
        xs, yv = x[keep][::step], y[keep][::step]
        if xs.size >= 2:
            pts = " ".join(f"{_r(ax.px(a))},{_r(ax.py(min(b, top * 1.5)))}" for a, b in zip(xs, yv))
            out.append(f'<polyline points="{pts}" fill="none" stroke="{c}" stroke-width="1.5"/>')
        leg.append((c, lab))
    if vline is not None:
        x = ax.px(vline[0])
        out.append(f'<path d="M{_r(x)} {_r(ax.mt)}V{_r(ax.bottom)}" stroke="#d62728" stroke-dasharray="3 2"/>')
        leg.append(("#d62728", vline[1]))
    out.append(f'<g font-size="10">{legend(leg, 50, 44, 12)}</g>')
    return svg(width, height, "".join(out), title)


def diverging_color(t: float) -> str:
    """t in [-1, 1] -> blue (-1) .. white (0) .. red (+1), like matplotlib's RdBu_r."""
    t = max(-1.0, min(1.0, t))
    lo, mid, hi = (33, 102, 172), (247, 247, 247), (178, 24, 43)
    a, b, u = (mid, hi, t) if t >= 0 else (mid, lo, -t)
    return "#%02x%02x%02x" % tuple(round(p + (q - p) * u) for p, q in zip(a, b))


def heatmap(z: np.ndarray, row_names: list[str], *, vmax: float, title: str, xlabel: str,
            levels: int = 10, max_cell_h: float = 12.0, width: int = 1000) -> str:
    """Cells coloured by value on a diverging scale clipped at ±vmax (``levels`` steps each side; NaN grey),
    one <path> per colour and one rectangle per run of equal colours in a row, so the file stays small; the
    values ride along as data-* for the tooltip."""
    n, nb = z.shape
    label_w, top, right = 250, 34, 90
    cw = (width - label_w - right) / max(nb, 1)
    ch = max(2.0, min(max_cell_h, 900.0 / max(n, 1)))
    height = int(top + n * ch + 44)
    q = np.where(np.isfinite(z), np.clip(np.rint(z / vmax * levels), -levels, levels), np.nan)
    paths: dict[str, list[str]] = {}
    for i in range(n):
        y = top + i * ch
        cols = ["#dddddd" if not np.isfinite(v) else diverging_color(v / levels) for v in q[i]]
        j = 0
        while j < nb:                      # one rectangle per run of equal colours along the row
            k = j
            while k + 1 < nb and cols[k + 1] == cols[j]:
                k += 1
            w = _r((k - j + 1) * cw)
            paths.setdefault(cols[j], []).append(f"M{_r(label_w + j * cw)} {_r(y)}h{w}v{_r(ch)}h-{w}z")
            j = k + 1
    out = [f'<text x="6" y="14" font-weight="600">{esc(title)}</text>']
    out += [f'<path d="{"".join(d)}" fill="{c}"/>' for c, d in paths.items()]
    step = max(1, math.ceil(n * 11 / (n * ch)))     # a label every ~11 px
    for i in range(0, n, step):
        out.append(f'<text x="{label_w - 4}" y="{_r(top + (i + 0.5) * ch + 3)}" text-anchor="end" '
                   f'font-size="9">{esc(_short(row_names[i], 44))}</text>')
    yb = top + n * ch
    for j in range(0, nb, 1 if cw >= 14 else 2):
        out.append(f'<text x="{_r(label_w + (j + 0.5) * cw)}" y="{_r(yb + 11)}" text-anchor="middle" '
                   f'font-size="9">{j}</text>')
    out.append(f'<text x="{_r(label_w + nb * cw / 2)}" y="{_r(yb + 28)}" text-anchor="middle">{esc(xlabel)}</text>')
    # colour bar
    bx, bh = width - right + 18, min(200.0, n * ch)
    for k in range(2 * levels + 1):
        t = 1 - k / (2 * levels)
        out.append(f'<rect x="{bx}" y="{_r(top + k * bh / (2 * levels + 1))}" width="14" '
                   f'height="{_r(bh / (2 * levels + 1) + 0.5)}" fill="{diverging_color(2 * t - 1)}"/>')
    for val, frac in ((vmax, 0.0), (0.0, 0.5), (-vmax, 1.0)):
        out.append(f'<text x="{bx + 18}" y="{_r(top + frac * bh + 4)}" font-size="10">'
                   f'{"≥" if frac == 0 else "≤" if frac == 1 else ""}{val:.3g}</text>')
    out.append(f'<text x="{bx}" y="{_r(top + bh + 16)}" font-size="10">runs Z</text>')
    zl = [[None if not np.isfinite(v) else round(float(v), 2) for v in row] for row in z]
    data = (f"data-heat='{json.dumps({'x0': label_w, 'y0': top, 'cw': cw, 'ch': ch, 'nc': nb})}' "
            f"data-rows='{esc(json.dumps(row_names))}' data-z='{json.dumps(zl)}' shape-rendering=\"crispEdges\"")
    return svg(width, height, "".join(out), title, data)


def bar_counts(items: list[tuple[str, int, str]], *, title: str, width: int = 360, bar_h: int = 18,
               hrefs: dict[str, str] | None = None) -> str:
    """Horizontal bars: (label, count, colour); ``hrefs``: label -> link target (an anchor on the page)."""
    label_w, top = 130, 24
    height = top + bar_h * max(len(items), 1) + 8
    top_n = max((c for _, c, _ in items), default=1) or 1
    out = [f'<text x="6" y="14" font-weight="600">{esc(title)}</text>']
    span = width - label_w - 40
    for i, (lab, c, col) in enumerate(items):
        y = top + i * bar_h
        w = span * c / top_n
        bar = (f'<text x="{label_w - 6}" y="{y + bar_h - 6}" text-anchor="end">{esc(_short(lab, 22))}</text>'
               f'<rect x="{label_w}" y="{y + 2}" width="{_r(max(w, 1))}" height="{bar_h - 5}" fill="{col}"/>'
               f'<text x="{_r(label_w + w + 4)}" y="{y + bar_h - 6}">{c}</text>')
        if hrefs and lab in hrefs:
            bar = f'<a href="{esc(hrefs[lab])}">{bar}</a>'
        out.append(bar)
    return svg(width, height, "".join(out), title)
