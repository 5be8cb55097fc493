"""Plots as SVG text, from the data ``runview`` returns: pure functions, no dependencies.

The live UI and the HTML report draw with the same functions, so they show the same
thing. Elements that stand for a program carry ``data-id`` (the UI makes them
clickable) and a ``<title>`` (a tooltip anywhere, the report included). Every text
that comes from a run is escaped.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any, Sequence

ISLAND_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                 "#bcbd22", "#17becf")
# Viridis, sampled: low scores dark blue, high scores yellow.
_VIRIDIS = ((68, 1, 84), (72, 40, 120), (62, 74, 137), (49, 104, 142), (38, 130, 142), (31, 158, 137),
            (53, 183, 121), (109, 205, 89), (180, 222, 44), (253, 231, 37))
FONT = "font-family='system-ui, sans-serif' font-size='11'"


def fmt(value: Any, digits: int = 6) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        return f"{value:.{digits}g}"
    return str(value)


def island_color(island: int) -> str:
    return ISLAND_COLORS[int(island) % len(ISLAND_COLORS)]


def viridis(frac: float) -> str:
    frac = 0.0 if frac != frac else min(1.0, max(0.0, frac))
    pos = frac * (len(_VIRIDIS) - 1)
    i = min(int(pos), len(_VIRIDIS) - 2)
    t = pos - i
    a, b = _VIRIDIS[i], _VIRIDIS[i + 1]
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(a, b))


def ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high]."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return [low]
    raw = (high - low) / max(1, count)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(low / step) * step
    out, v = [], first
    while v <= high + step * 1e-9:
        out.append(round(v, 12))
        v += step
    return out


def _svg(width: int, height: int, body: list[str], label: str) -> str:
    return (f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}' width='{width}'"
            f" style='max-width:100%;height:auto' role='img' aria-label='{escape(label)}' {FONT}>" + "".join(body) + "</svg>")


def _empty(width: int, height: int, text: str) -> str:
    return _svg(width, height, [f"<text x='{width / 2}' y='{height / 2}' text-anchor='middle' fill='#666'>"
                                f"{escape(text)}</text>"], text)


class _Frame:
    """Linear scales and axes for a plot area inside margins."""

    def __init__(self, width: int, height: int, x: tuple[float, float], y: tuple[float, float],
                 margin: tuple[int, int, int, int] = (12, 16, 34, 64)):
        self.width, self.height = width, height
        self.top, self.right, self.bottom, self.left = margin
        self.x0, self.x1 = x if x[1] > x[0] else (x[0], x[0] + 1)
        self.y0, self.y1 = y if y[1] > y[0] else (y[0] - 0.5, y[0] + 0.5)

    def sx(self, v: float) -> float:
        return self.left + (v - self.x0) / (self.x1 - self.x0) * (self.width - self.left - self.right)

    def sy(self, v: float) -> float:
        v = min(max(v, self.y0), self.y1)
        return self.height - self.bottom - (v - self.y0) / (self.y1 - self.y0) * (
            self.height - self.top - self.bottom)

    def axes(self, xlabel: str, ylabel: str, xfmt=fmt) -> list[str]:
        out = []
        b, l_ = self.height - self.bottom, self.left
        out.append(f"<line x1='{l_}' y1='{b}' x2='{self.width - self.right}' y2='{b}' stroke='#999'/>")
        out.append(f"<line x1='{l_}' y1='{self.top}' x2='{l_}' y2='{b}' stroke='#999'/>")
        for v in ticks(self.x0, self.x1, 6):
            x = self.sx(v)
            out.append(f"<line x1='{x:.1f}' y1='{b}' x2='{x:.1f}' y2='{b + 4}' stroke='#999'/>"
                       f"<text x='{x:.1f}' y='{b + 15}' text-anchor='middle' fill='#444'>{escape(xfmt(v))}</text>")
        for v in ticks(self.y0, self.y1, 5):
            y = self.sy(v)
            out.append(f"<line x1='{l_}' y1='{y:.1f}' x2='{self.width - self.right}' y2='{y:.1f}' stroke='#eee'/>"
                       f"<text x='{l_ - 5}' y='{y + 4:.1f}' text-anchor='end' fill='#444'>{escape(fmt(v, 5))}</text>")
        out.append(f"<text x='{(l_ + self.width - self.right) / 2}' y='{self.height - 4}' text-anchor='middle'"
                   f" fill='#333'>{escape(xlabel)}</text>")
        out.append(f"<text transform='translate(12 {(self.top + b) / 2}) rotate(-90)' text-anchor='middle'"
                   f" fill='#333'>{escape(ylabel)}</text>")
        return out


def _seconds(v: float) -> str:
    if v >= 3600:
        return f"{v / 3600:.3g} h"
    if v >= 60:
        return f"{v / 60:.3g} min"
    return f"{v:.3g} s"


def score_plot(curve: dict[str, Any], *, x: str = "seq", objective: str = "score", width: int = 760,
               height: int = 300) -> str:
    """Best score so far (thick: overall; thin: per island) over candidates or over time,
    on a cloud of every valid program's score (a bounded sample)."""
    if not curve.get("overall"):
        return _empty(width, height, "no valid program yet")
    col = 1 if x == "t" else 0
    sample = curve["sample"]
    scores = sorted(p[2] for p in sample)
    best, initial = curve["best"], curve["initial"] if curve["initial"] is not None else curve["overall"][0][2]
    # The y range follows the best and the initial score; a far tail of bad scores is clipped
    # to the edge rather than squashing the curve that matters.
    tail = scores[int(0.05 * (len(scores) - 1))] if curve["maximize"] else scores[int(0.95 * (len(scores) - 1))]
    lo, hi = (min(initial, tail), best) if curve["maximize"] else (best, max(initial, tail))
    pad = (hi - lo) * 0.06 or abs(hi) * 0.01 or 1.0
    x_end = curve["last_t"] if col else curve["last_seq"]
    frame = _Frame(width, height, (0.0, float(max(x_end, 1))), (lo - pad, hi + pad))
    body = frame.axes("wall-clock time since the first candidate" if col else "candidates",
                      objective, _seconds if col else fmt)
    # A score outside the y range is drawn on the edge as a triangle pointing off the plot
    # (with its value in a tooltip), never as a dot that looks like a real score there.
    clipped = {"below": [], "above": []}
    for p in sample:
        x_, y_ = frame.sx(p[col]), frame.sy(p[2])
        if frame.y0 <= p[2] <= frame.y1:
            body.append(f"<circle cx='{x_:.1f}' cy='{y_:.1f}' r='1.8'"
                        f" fill='{island_color(p[3])}' fill-opacity='0.35'/>")
            continue
        side = "below" if p[2] < frame.y0 else "above"
        clipped[side].append(p[2])
        tip = 4 if side == "below" else -4
        body.append(f"<polygon class='clipped' points='{x_ - 3:.1f},{y_ - tip:.1f} {x_ + 3:.1f},{y_ - tip:.1f}"
                    f" {x_:.1f},{y_:.1f}' fill='{island_color(p[3])}' fill-opacity='0.6'>"
                    f"<title>{escape(fmt(p[2], 10))} at candidate {int(p[0])} ({side} the axis)</title></polygon>")
    for side, values in clipped.items():
        if values:
            far = min(values) if side == "below" else max(values)
            y_ = frame.height - frame.bottom - 5 if side == "below" else frame.top + 20
            body.append(f"<text class='clipped-note' x='{frame.width - frame.right - 4}' y='{y_}' text-anchor='end'"
                        f" fill='#666' font-size='10'>{'▼' if side == 'below' else '▲'} {len(values)} {side} axis"
                        f" (to {escape(fmt(far, 5))})</text>")

    def steps(points: list[list[float]], color: str, stroke: float, extra: str = "") -> str:
        first = points[0]
        path = [f"M{frame.sx(first[col]):.1f},{frame.sy(first[2]):.1f}"]
        for p in points[1:]:
            path.append(f"H{frame.sx(p[col]):.1f}V{frame.sy(p[2]):.1f}")
        path.append(f"H{frame.sx(x_end):.1f}")
        return f"<path d='{' '.join(path)}' fill='none' stroke='{color}' stroke-width='{stroke}' {extra}/>"

    islands = curve.get("islands") or {}
    if len(islands) > 1:
        for island, points in islands.items():
            body.append(steps(points, island_color(int(island)), 1.3, "stroke-opacity='0.9'"))
    body.append(steps(curve["overall"], "#111", 2.4))
    for p in curve["overall"]:
        body.append(f"<circle cx='{frame.sx(p[col]):.1f}' cy='{frame.sy(p[2]):.1f}' r='3' fill='#111'>"
                    f"<title>new best {fmt(p[2], 10)} at candidate {int(p[0])}</title></circle>")
    legend = [("best overall", "#111")] + ([(f"island {i}", island_color(int(i))) for i in islands]
                                           if len(islands) > 1 else [])
    lx = frame.left + 10
    for label, color in legend:
        body.append(f"<rect x='{lx}' y='{frame.top + 2}' width='14' height='3' fill='{color}'/>"
                    f"<text x='{lx + 18}' y='{frame.top + 7}' fill='#333'>{escape(label)}</text>")
        lx += 24 + 7 * len(label)
    return _svg(width, height, body, "best score over " + ("time" if col else "candidates"))


def tree_plot(tree: dict[str, Any], *, maximize: bool = True, width: int = 760, row_height: int = 14,
              selected: str | None = None) -> str:
    """The ancestry of the best programs as a phylogram: generations left to right, one
    row per leaf, node color = score (viridis), the best program's lineage in bold."""
    nodes = tree.get("nodes") or []
    if not nodes:
        return _empty(width, 120, "no valid program yet")
    by_id = {n["id"]: n for n in nodes}
    rows = max(1, tree.get("rows") or 1)
    height = max(120, 30 + rows * row_height)
    depth = max(n.get("depth", 0) for n in nodes) or 1
    left, right, top = 20, 120, 14
    sx = lambda d: left + d / depth * (width - left - right)  # noqa: E731
    sy = lambda r: top + r * row_height  # noqa: E731
    scores = [n["score"] for n in nodes if n["score"] is not None]
    lo, hi = min(scores), max(scores)
    on_path = set(tree.get("best_path") or [])
    top_ids = set((tree.get("top") or [])[:1])
    body = []
    for n in nodes:
        parent = by_id.get(n.get("shown_parent", n["parent_id"]))
        if parent is None:
            continue
        x0, y0, x1, y1 = sx(parent["depth"]), sy(parent["row"]), sx(n["depth"]), sy(n["row"])
        bold = n["id"] in on_path and parent["id"] in on_path
        dash = " stroke-dasharray='4 3'" if n.get("skipped") else ""
        body.append(f"<path d='M{x0:.1f},{y0:.1f}V{y1:.1f}H{x1:.1f}' fill='none'{dash}"
                    f" stroke='{'#d62728' if bold else '#aaa'}' stroke-width='{2.5 if bold else 1}'>"
                    + (f"<title>{n['skipped']} generations in between</title>" if n.get("skipped") else "")
                    + "</path>")
        if n.get("skipped") and x1 - x0 > 30:
            body.append(f"<text x='{(x0 + x1) / 2:.1f}' y='{y1 - 3:.1f}' text-anchor='middle' fill='#888'"
                        f" font-size='9'>+{n['skipped']}</text>")
    for n in nodes:
        frac = 0.5 if hi == lo or n["score"] is None else (n["score"] - lo) / (hi - lo)
        if not maximize:
            frac = 1 - frac
        r = 5.5 if n["id"] in top_ids else 4
        stroke = "#d62728" if n["id"] in on_path else "#333"
        sel = " stroke-width='3'" if n["id"] == selected else ""
        title = (f"{n['id']} · {fmt(n['score'], 10)} · {n['operator']}"
                 f"{' · ' + n['model'] if n.get('model') else ''} · island {n['island']} · gen {n['generation']}"
                 f" · #{n['seq']}")
        body.append(f"<circle class='node' data-id='{escape(n['id'])}' cx='{sx(n['depth']):.1f}'"
                    f" cy='{sy(n['row']):.1f}' r='{r}' fill='{viridis(frac)}' stroke='{stroke}'{sel}"
                    f" style='cursor:pointer'><title>{escape(title)}</title></circle>")
    has_child = {n.get("shown_parent", n["parent_id"]) for n in nodes}
    for n in nodes:
        if n["id"] in top_ids or n["id"] not in has_child:
            body.append(f"<text x='{sx(n['depth']) + 8:.1f}' y='{sy(n['row']) + 4:.1f}' fill='#333'>"
                        f"{escape(fmt(n['score'], 7))}</text>")
    last = tree.get("generations", depth)
    note = " (single-child chains drawn as dashed edges)" if tree.get("compressed") else ""
    body.append(f"<text x='{left}' y='{height - 4}' fill='#666'>generation 0{note}</text>"
                f"<text x='{width - right}' y='{height - 4}' text-anchor='end' fill='#666'>generation {last}</text>")
    return _svg(width, height, body, "lineage tree of the best programs")


def grid_plot(grid: dict[str, Any], *, cell: int = 34, label: str = "score") -> str:
    """MAP-Elites grid as a heatmap: each cell's best score (empty cells blank)."""
    axes = grid.get("axes") or []
    if not axes:
        return _empty(520, 60, "no MAP-Elites features configured (archive.features): one cell per island")
    bx = int(axes[0]["bins"])
    by = int(axes[1]["bins"]) if len(axes) > 1 else 1
    cells = grid.get("cells") or []
    scores = [c["best"] for c in cells]
    lo, hi = (min(scores), max(scores)) if scores else (0.0, 1.0)
    cell = max(10, min(cell, 640 // max(bx, 1)))
    left, top, bottom = 70, 10, 50
    width, height = left + bx * cell + 110, top + by * cell + bottom
    body = []
    for i in range(bx):
        for j in range(by):
            body.append(f"<rect x='{left + i * cell}' y='{top + (by - 1 - j) * cell}' width='{cell}'"
                        f" height='{cell}' fill='#f4f4f4' stroke='#fff'/>")
    for c in cells:
        i = c["cell"][0]
        j = c["cell"][1] if len(c["cell"]) > 1 else 0
        frac = 0.5 if hi == lo else (c["best"] - lo) / (hi - lo)
        if not grid.get("maximize", True):
            frac = 1 - frac
        body.append(f"<rect class='cell' data-id='{escape(c['id'])}' x='{left + i * cell}'"
                    f" y='{top + (by - 1 - j) * cell}' width='{cell}' height='{cell}' fill='{viridis(frac)}'"
                    f" stroke='#fff' style='cursor:pointer'><title>cell {tuple(c['cell'])}: best "
                    f"{escape(fmt(c['best'], 10))} ({c['count']} valid programs)</title></rect>")

    def edge_labels(f: dict[str, Any], bins: int) -> list[str]:
        step = (float(f["max"]) - float(f["min"])) / bins
        return [fmt(float(f["min"]) + k * step, 4) for k in range(bins + 1)]

    every = max(1, math.ceil(60 / cell))  # labels at least ~60 px apart
    for k, text in enumerate(edge_labels(axes[0], bx)):
        if k % every == 0:
            body.append(f"<text x='{left + k * cell}' y='{top + by * cell + 14}' text-anchor='middle'"
                        f" fill='#444'>{escape(text)}</text>")
    body.append(f"<text x='{left + bx * cell / 2}' y='{top + by * cell + 34}' text-anchor='middle'"
                f" fill='#333'>{escape(axes[0]['name'])}</text>")
    if len(axes) > 1:
        every_y = max(1, math.ceil(18 / cell))
        for k, text in enumerate(edge_labels(axes[1], by)):
            if k % every_y == 0:
                body.append(f"<text x='{left - 5}' y='{top + (by - k) * cell + 4}' text-anchor='end'"
                            f" fill='#444'>{escape(text)}</text>")
        body.append(f"<text transform='translate(12 {top + by * cell / 2}) rotate(-90)' text-anchor='middle'"
                    f" fill='#333'>{escape(axes[1]['name'])}</text>")
    # Color bar.
    cx = left + bx * cell + 20
    for k in range(20):
        frac = 1 - k / 19
        body.append(f"<rect x='{cx}' y='{top + k * 6}' width='12' height='6' fill='"
                    f"{viridis(frac if grid.get('maximize', True) else 1 - frac)}'/>")
    body.append(f"<text x='{cx + 16}' y='{top + 8}' fill='#444'>{escape(fmt(hi, 5))}</text>"
                f"<text x='{cx + 16}' y='{top + 120}' fill='#444'>{escape(fmt(lo, 5))}</text>"
                f"<text x='{cx}' y='{top + 138}' fill='#333'>{escape(label)}</text>"
                f"<text x='{cx}' y='{top + 152}' fill='#666'>{len(cells)}/{bx * by} cells</text>")
    return _svg(width, max(height, top + 160), body, "MAP-Elites grid")


def bar_plot(items: Sequence[tuple[str, float]], *, width: int = 760, unit: str = "",
             color: str = "#d62728") -> str:
    """Horizontal bars, one per (label, value), in the given order."""
    if not items:
        return _empty(width, 40, "none")
    row, left = 20, min(360, 10 + 6 * max(len(label) for label, _ in items))
    top_value = max(v for _, v in items) or 1
    height = 8 + row * len(items)
    body = []
    for k, (label, value) in enumerate(items):
        y = 4 + k * row
        w = (width - left - 80) * value / top_value
        short = label if len(label) <= 58 else label[:57] + "…"
        body.append(f"<text x='{left - 6}' y='{y + 13}' text-anchor='end' fill='#333'>{escape(short)}"
                    f"<title>{escape(label)}</title></text>"
                    f"<rect x='{left}' y='{y + 3}' width='{max(w, 1):.1f}' height='{row - 6}' fill='{color}'/>"
                    f"<text x='{left + w + 5:.1f}' y='{y + 13}' fill='#333'>{escape(fmt(value))}{escape(unit)}</text>")
    return _svg(width, height, body, "bars")
