"""Small inline-SVG plots for the static HTML report: no JavaScript, no network, no plotting
library. Every label is visible text (a page read without hover or script loses nothing) and
passes through `escape`, because symbol and file names come from the user.

Axes have round ticks in their unit (`fmt.tick`); a sample that spans more than `LOG_SPAN` times
its smallest value is drawn on a log scale, with bins whose edges are round numbers, so that a
tight bulk and a few outliers a thousand times larger are both visible.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from gomcu.report import fmt

WIDTH = 560
HEIGHT = 240
MARGIN_LEFT = 64
MARGIN_BOTTOM = 44
MARGIN_TOP = 40
MARGIN_RIGHT = 20
PALETTE = ("#3b6ea8", "#d0892c", "#4a9a5b", "#b6464a", "#7d5ba6", "#8a8a8a")
LOG_SPAN = 20.0  # max / min beyond which a positive sample is plotted on a log scale
LOG_EDGES = (1.0, 2.0, 3.0, 5.0)  # round bin edges per decade on a log scale
CHAR_PX = 6.2  # width of one character of an 11px tick label
PLOT_W = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
PLOT_H = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
BOTTOM = HEIGHT - MARGIN_BOTTOM


def _clean(x: float) -> float:
    """1e-1 * 3 is 0.30000000000000004: keep 12 significant digits so edges stay round."""
    return float(f"{x:.12g}")


def nice_step(raw: float, unit: str = "") -> float:
    """The round step at or above `raw`: 1, 2, 2.5 or 5 times a power of ten (a power of two for
    bytes, whose round values are KiB and MiB)."""
    if raw <= 0:
        return 1.0
    if unit == "bytes" and raw >= 1:
        return float(2 ** math.ceil(math.log2(raw)))
    power = 10.0 ** math.floor(math.log10(raw))
    return _clean(next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw * (1 - 1e-9)))


@dataclass(frozen=True)
class Axis:
    """A value range mapped onto [0, 1], linear or logarithmic, with round ticks in `unit`."""

    lo: float
    hi: float
    unit: str
    log: bool = False
    step: float = 0.0  # a linear axis's tick step

    def frac(self, v: float) -> float:
        if self.log:
            return (math.log10(max(v, self.lo)) - math.log10(self.lo)) / (math.log10(self.hi) - math.log10(self.lo))
        return (v - self.lo) / ((self.hi - self.lo) or 1.0)

    def ticks(self) -> tuple[float, ...]:
        if not self.log:
            n = round((self.hi - self.lo) / self.step)
            return tuple(_clean(self.lo + i * self.step) for i in range(n + 1))
        values = tuple(v for v in _log_sequence(self.lo, self.hi, (1.0, 2.0, 5.0)) if self.lo <= v <= self.hi)
        if len(values) <= 8:
            return values
        return tuple(v for v in _log_sequence(self.lo, self.hi, (1.0,)) if self.lo <= v <= self.hi)

    def label(self, v: float) -> str:
        return fmt.tick(v, self.unit)


def _log_sequence(lo: float, hi: float, mantissas: Sequence[float] = LOG_EDGES) -> list[float]:
    """Round values m * 10^k from the last at or below `lo` to the first above `hi`."""
    out: list[float] = []
    k = math.floor(math.log10(lo))
    while True:
        for m in mantissas:
            v = _clean(m * 10.0 ** k)
            if v > hi:
                out.append(v)
                below = [x for x in out if x <= lo]
                return out[len(below) - 1:] if below else out
            out.append(v)
        k += 1


def linear_axis(lo: float, hi: float, unit: str, ticks: int = 5) -> Axis:
    """An axis from the round tick at or below `lo` to the one at or above `hi`."""
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    step = nice_step((hi - lo) / ticks, unit)
    if unit == "count":
        step = max(step, 1.0)
    start, end = math.floor(lo / step + 1e-9) * step, math.ceil(hi / step - 1e-9) * step
    return Axis(_clean(start), _clean(end), unit, step=step)


def axis_for(values: Sequence[float], unit: str, zero: bool = False) -> Axis:
    """Log scale for a positive sample spanning more than LOG_SPAN (never for a share in %); else
    linear (from 0 with `zero`)."""
    lo, hi = min(values), max(values)
    if lo > 0 and hi / lo > LOG_SPAN and unit != "%":
        edges = _log_sequence(lo, hi, (1.0, 2.0, 5.0))
        return Axis(edges[0], edges[-1], unit, log=True)
    return linear_axis(min(lo, 0.0) if zero else lo, hi, unit)


def _stride(positions: Sequence[float], labels: Sequence[str]) -> int:
    """Label every n-th tick so that no two labels overlap."""
    widest = max((len(t) for t in labels), default=1) * CHAR_PX + 6
    gaps = [b - a for a, b in zip(positions, positions[1:])] or [float(PLOT_W)]
    return max(1, math.ceil(widest / max(min(gaps), 1e-6)))


def _labelled(axis: Axis, values: Sequence[float]) -> list[bool]:
    """Which ticks get a label: all when they fit, else every n-th (on a log scale the decades
    first, then every n-th decade)."""
    xs = [MARGIN_LEFT + PLOT_W * axis.frac(v) for v in values]
    labels = [axis.label(v) for v in values]
    if _stride(xs, labels) == 1:
        return [True] * len(values)
    chosen = list(range(len(values)))
    if axis.log:
        chosen = [i for i, v in enumerate(values) if i == 0 or _is_decade(v)]
    every = _stride([xs[i] for i in chosen], [labels[i] for i in chosen])
    keep = set(chosen[::every])
    return [i in keep for i in range(len(values))]


def _is_decade(v: float) -> bool:
    return v > 0 and abs(math.log10(v) - round(math.log10(v))) < 1e-9


def _x_axis(axis: Axis, ticks: Sequence[float] | None = None) -> str:
    values = list(ticks if ticks is not None else axis.ticks())
    parts = []
    for v, labelled in zip(values, _labelled(axis, values)):
        x = MARGIN_LEFT + PLOT_W * axis.frac(v)
        parts.append(f'<line class="tick-mark" x1="{x:.1f}" y1="{BOTTOM}" x2="{x:.1f}" y2="{BOTTOM + 4}" stroke="#444"/>')
        if labelled:
            parts.append(f'<text x="{x:.1f}" y="{BOTTOM + 16}" text-anchor="middle" class="tick">'
                         f"{escape(axis.label(v))}</text>")
    return "".join(parts)


def _y_axis(axis: Axis) -> str:
    parts = []
    for v in axis.ticks():
        y = BOTTOM - PLOT_H * axis.frac(v)
        parts.append(f'<line class="grid" x1="{MARGIN_LEFT}" y1="{y:.1f}" x2="{WIDTH - MARGIN_RIGHT}" y2="{y:.1f}" '
                     f'stroke="#e4e4e4"/>')
        parts.append(f'<text x="{MARGIN_LEFT - 5}" y="{y + 4:.1f}" text-anchor="end" class="tick">'
                     f"{escape(axis.label(v))}</text>")
    return "".join(parts)


def _frame(title: str, body: str, x_label: str, y_label: str, axes: bool = True, subtitle: str = "") -> str:
    axis_lines = (
        f'<line x1="{MARGIN_LEFT}" y1="{BOTTOM}" x2="{WIDTH - MARGIN_RIGHT}" y2="{BOTTOM}" stroke="#444"/>'
        f'<line x1="{MARGIN_LEFT}" y1="{MARGIN_TOP}" x2="{MARGIN_LEFT}" y2="{BOTTOM}" stroke="#444"/>'
        if axes else ""
    )
    sub = (f'<text x="{WIDTH / 2}" y="31" text-anchor="middle" class="plot-subtitle">{escape(subtitle)}</text>'
           if subtitle else "")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="plot" role="img" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}"><title>{escape(title)}</title>'
        f'<text x="{WIDTH / 2}" y="15" text-anchor="middle" class="plot-title">{escape(title)}</text>{sub}'
        f"{body}{axis_lines}"
        f'<text x="{MARGIN_LEFT + PLOT_W / 2}" y="{HEIGHT - 6}" text-anchor="middle" class="axis">{escape(x_label)}</text>'
        f'<text x="12" y="{MARGIN_TOP + PLOT_H / 2}" text-anchor="middle" class="axis" '
        f'transform="rotate(-90 12 {MARGIN_TOP + PLOT_H / 2})">{escape(y_label)}</text>'
        "</svg>"
    )


def _empty(title: str, x_label: str, y_label: str, what: str = "no samples") -> str:
    return _frame(title, f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">{escape(what)}</text>',
                  x_label, y_label)


def bin_edges(values: Sequence[float], unit: str, bins: int = 12) -> tuple[list[float], bool]:
    """Round bin edges covering `values`, and whether they are on a log scale: 1-2-3-5 per decade
    when the sample spans more than LOG_SPAN, else a round linear step giving about `bins` bins."""
    lo, hi = min(values), max(values)
    if lo > 0 and hi / lo > LOG_SPAN:
        return _log_sequence(lo, hi), True
    step = nice_step((hi - lo) / bins if hi > lo else (abs(lo) or 1.0) / 10, unit)
    start = math.floor(lo / step + 1e-9) * step
    n = max(1, math.floor((hi - start) / step + 1e-9) + 1)
    return [_clean(start + i * step) for i in range(n + 1)], False


def _summary(values: Sequence[float], unit: str) -> str:
    from gomcu.limits.gc_measure import Distribution

    d = Distribution.of(list(values))
    return (f"{d.count} samples: min {fmt.value(d.min, unit)}, median {fmt.value(d.median, unit)}, "
            f"p99 {fmt.value(d.p99, unit)}, max {fmt.value(d.max, unit)}")


def histogram(title: str, values: Sequence[float], x_label: str, unit: str = "µs") -> str:
    """A histogram of `values` in `unit` (GC pauses, interrupt latencies): round bin edges, each
    labelled as far as space allows, the count written over each bar, min/median/p99/max above."""
    if not values:
        return _empty(title, x_label, "samples")
    edges, log = bin_edges(values, unit)
    counts = [0] * (len(edges) - 1)
    for v in values:
        counts[min(len(counts) - 1, max(0, bisect_right(edges, v) - 1))] += 1
    x = Axis(edges[0], edges[-1], unit, log=log)
    y = linear_axis(0, max(counts), "count", ticks=4)
    parts = [_y_axis(y)]
    for lo, hi, c in zip(edges, edges[1:], counts):
        x0, x1 = MARGIN_LEFT + PLOT_W * x.frac(lo), MARGIN_LEFT + PLOT_W * x.frac(hi)
        h = PLOT_H * y.frac(c)
        parts.append(f'<rect class="bar" x="{x0 + 0.5:.1f}" y="{BOTTOM - h:.1f}" width="{max(x1 - x0 - 1, 0.5):.1f}" '
                     f'height="{h:.1f}" fill="{PALETTE[0]}"><title>{escape(x.label(lo))} to {escape(x.label(hi))}: '
                     f"{c}</title></rect>")
        if c:
            parts.append(f'<text x="{(x0 + x1) / 2:.1f}" y="{BOTTOM - h - 3:.1f}" text-anchor="middle" '
                         f'class="count">{c}</text>')
    parts.append(_x_axis(x, edges))
    label = x_label + (" (log scale: bins 1-2-3-5 per decade)" if log else "")
    return _frame(title, "".join(parts), label, "samples", subtitle=_summary(values, unit))


def stacked_bar(title: str, segments: Sequence[tuple[str, int]], total: int | None) -> str:
    """One horizontal bar split into named segments (a memory map: globals, stack, heap, free),
    on a byte axis, with a legend giving each segment's size and share."""
    whole = total or sum(v for _, v in segments) or 1
    axis = linear_axis(0, whole, "bytes", ticks=6)
    bar_top, bar_h = MARGIN_TOP, 40
    x = float(MARGIN_LEFT)
    parts = []
    for i, (name, value) in enumerate(segments):
        w = PLOT_W * value / axis.hi
        colour = PALETTE[i % len(PALETTE)]
        share = fmt.percent(value, whole)
        parts.append(f'<rect class="segment" x="{x:.1f}" y="{bar_top}" width="{max(w, 0.5):.1f}" height="{bar_h}" '
                     f'fill="{colour}"><title>{escape(name)}: {fmt.size(value)} ({share})</title></rect>')
        legend_y = bar_top + bar_h + 44 + 16 * i
        parts.append(f'<rect x="{MARGIN_LEFT}" y="{legend_y - 10}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{MARGIN_LEFT + 16}" y="{legend_y}" class="tick">{escape(name)}: {fmt.size(value)} '
                     f"({share})</text>")
        x += w
    if axis.hi > whole:  # the axis runs on to a round value: show where the memory ends
        end = MARGIN_LEFT + PLOT_W * whole / axis.hi
        parts.append(f'<line x1="{end:.1f}" y1="{bar_top - 4}" x2="{end:.1f}" y2="{bar_top + bar_h + 4}" stroke="#222"/>')
    ticks = []
    for v in axis.ticks():
        tx = MARGIN_LEFT + PLOT_W * axis.frac(v)
        ticks.append(f'<line class="tick-mark" x1="{tx:.1f}" y1="{bar_top + bar_h}" x2="{tx:.1f}" '
                     f'y2="{bar_top + bar_h + 4}" stroke="#444"/>')
        ticks.append(f'<text x="{tx:.1f}" y="{bar_top + bar_h + 16}" text-anchor="middle" class="tick">'
                     f"{escape(axis.label(v))}</text>")
    height = bar_top + bar_h + 44 + 16 * len(segments) + 4
    svg = _frame(title, "".join(parts) + "".join(ticks), "", "", axes=False,
                 subtitle=f"of {fmt.size(whole)}" + ("" if total else " (no chip: the sections' own size)"))
    return _resize(svg, height)


def _resize(svg: str, height: int) -> str:
    return svg.replace(f'height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}"',
                       f'height="{height}" viewBox="0 0 {WIDTH} {height}"', 1)


def scatter(title: str, points: Sequence[tuple[float, float]], x_label: str, y_label: str,
            line: tuple[float, float] | None = None, x_unit: str = "", y_unit: str = "") -> str:
    """Points with an optional fitted line y = a + b*x (line = (a, b)), on round-ticked axes (the
    y axis logarithmic when the values span more than LOG_SPAN)."""
    if not points:
        return _empty(title, x_label, y_label)
    xa = axis_for([p[0] for p in points], x_unit, zero=x_unit == "%")
    ya = axis_for([p[1] for p in points], y_unit, zero=True)

    def px(x: float, y: float) -> tuple[float, float]:
        return MARGIN_LEFT + PLOT_W * xa.frac(x), BOTTOM - PLOT_H * ya.frac(y)

    parts = [_y_axis(ya)]
    parts += [f'<circle class="point" cx="{a:.1f}" cy="{b:.1f}" r="2.5" fill="{PALETTE[0]}" fill-opacity="0.6"/>'
              for a, b in (px(x, y) for x, y in points)]
    if line is not None:
        steps = [xa.lo + (xa.hi - xa.lo) * i / 40 for i in range(41)]
        fitted = [(x, line[0] + line[1] * x) for x in steps]
        shown = [px(x, y) for x, y in fitted if ya.lo <= y <= ya.hi]
        if len(shown) > 1:
            path = " ".join(f"{a:.1f},{b:.1f}" for a, b in shown)
            parts.append(f'<polyline class="fit" points="{path}" fill="none" stroke="{PALETTE[3]}" stroke-width="2"/>')
    parts.append(_x_axis(xa))
    return _frame(title, "".join(parts), x_label, y_label + (" (log scale)" if ya.log else ""),
                  subtitle="line: the fitted model" if line is not None else "")


def bars(title: str, items: Sequence[tuple[str, float]], unit: str) -> str:
    """Horizontal bars, one per named item, longest first as given (a per-function profile)."""
    if not items:
        return _empty(title, "", "", "nothing")
    top = max(v for _, v in items) or 1.0
    label_w = 200
    plot_w = WIDTH - label_w - MARGIN_RIGHT - 60
    row_h = 14
    parts = []
    for i, (name, value) in enumerate(items):
        y = MARGIN_TOP + i * row_h
        w = plot_w * value / top
        parts.append(f'<text x="{label_w - 4}" y="{y + 10}" text-anchor="end" class="tick">{escape(name[:34])}</text>')
        parts.append(f'<rect class="bar" x="{label_w}" y="{y}" width="{max(w, 0.5):.1f}" height="{row_h - 3}" '
                     f'fill="{PALETTE[0]}"><title>{escape(name)}: {fmt.number(value)} {escape(unit)}</title></rect>')
        parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + 10}" class="tick">{fmt.number(value)}</text>')
    return _resize(_frame(title, "".join(parts), unit, "", axes=False), MARGIN_TOP + 8 + len(items) * row_h)
