"""Small inline-SVG plots for the static HTML report: no JavaScript, no network, no plotting
library. Every label passes through `escape`, because symbol and file names come from the user.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

WIDTH = 560
HEIGHT = 220
MARGIN_LEFT = 56
MARGIN_BOTTOM = 36
MARGIN_TOP = 24
MARGIN_RIGHT = 16
PALETTE = ("#3b6ea8", "#d0892c", "#4a9a5b", "#b6464a", "#7d5ba6", "#8a8a8a")


def _frame(title: str, body: str, x_label: str, y_label: str, axes: bool = True) -> str:
    plot_bottom = HEIGHT - MARGIN_BOTTOM
    axis_lines = (
        f'<line x1="{MARGIN_LEFT}" y1="{plot_bottom}" x2="{WIDTH - MARGIN_RIGHT}" y2="{plot_bottom}" stroke="#444"/>'
        f'<line x1="{MARGIN_LEFT}" y1="{MARGIN_TOP}" x2="{MARGIN_LEFT}" y2="{plot_bottom}" stroke="#444"/>'
        if axes else ""
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="plot" role="img" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}"><title>{escape(title)}</title>'
        f'<text x="{WIDTH / 2}" y="16" text-anchor="middle" class="plot-title">{escape(title)}</text>'
        f"{axis_lines}"
        f'<text x="{WIDTH / 2}" y="{HEIGHT - 4}" text-anchor="middle" class="axis">{escape(x_label)}</text>'
        f'<text x="12" y="{HEIGHT / 2}" text-anchor="middle" class="axis" '
        f'transform="rotate(-90 12 {HEIGHT / 2})">{escape(y_label)}</text>'
        f"{body}</svg>"
    )


def _fmt(v: float) -> str:
    if v == int(v) and abs(v) < 1e7:
        return str(int(v))
    return f"{v:.3g}"


def histogram(title: str, values: Sequence[float], x_label: str, bins: int = 20) -> str:
    """A histogram of `values` (e.g. GC pauses in µs)."""
    if not values:
        return _frame(title, f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">no samples</text>', x_label, "count")
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, int((v - lo) / span * bins))] += 1
    top = max(counts)
    plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    bar_w = plot_w / bins
    parts = []
    for i, c in enumerate(counts):
        h = plot_h * c / top
        x = MARGIN_LEFT + i * bar_w
        y = HEIGHT - MARGIN_BOTTOM - h
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar_w - 1:.1f}" height="{h:.1f}" fill="{PALETTE[0]}">'
            f"<title>{_fmt(lo + i * span / bins)}–{_fmt(lo + (i + 1) * span / bins)}: {c}</title></rect>"
        )
    parts.append(f'<text x="{MARGIN_LEFT}" y="{HEIGHT - MARGIN_BOTTOM + 14}" class="tick">{_fmt(lo)}</text>')
    parts.append(f'<text x="{WIDTH - MARGIN_RIGHT}" y="{HEIGHT - MARGIN_BOTTOM + 14}" text-anchor="end" class="tick">{_fmt(hi)}</text>')
    parts.append(f'<text x="{MARGIN_LEFT - 4}" y="{MARGIN_TOP + 4}" text-anchor="end" class="tick">{top}</text>')
    return _frame(title, "".join(parts), x_label, "count")


def stacked_bar(title: str, segments: Sequence[tuple[str, int]], total: int | None, unit: str = "bytes") -> str:
    """One horizontal bar split into named segments (a memory map: globals, stack, heap, free)."""
    whole = total or sum(v for _, v in segments) or 1
    plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    x = float(MARGIN_LEFT)
    parts = []
    for i, (name, value) in enumerate(segments):
        w = plot_w * value / whole
        colour = PALETTE[i % len(PALETTE)]
        parts.append(
            f'<rect class="segment" x="{x:.1f}" y="{MARGIN_TOP + 10}" width="{max(w, 0.5):.1f}" height="48" fill="{colour}">'
            f"<title>{escape(name)}: {value} {escape(unit)}</title></rect>"
        )
        legend_y = MARGIN_TOP + 80 + 16 * i
        parts.append(f'<rect x="{MARGIN_LEFT}" y="{legend_y - 10}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{MARGIN_LEFT + 16}" y="{legend_y}" class="tick">{escape(name)}: {value} {escape(unit)} '
                     f"({100.0 * value / whole:.1f}%)</text>")
        x += w
    return _frame(title, "".join(parts), f"of {whole} {unit}", "", axes=False)


def scatter(title: str, points: Sequence[tuple[float, float]], x_label: str, y_label: str,
            line: tuple[float, float] | None = None) -> str:
    """Points with an optional fitted line y = a + b*x (line = (a, b))."""
    if not points:
        return _frame(title, f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">no samples</text>', x_label, y_label)
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(0.0, min(ys)), max(ys)
    sx = (WIDTH - MARGIN_LEFT - MARGIN_RIGHT) / ((x1 - x0) or 1)
    sy = (HEIGHT - MARGIN_TOP - MARGIN_BOTTOM) / ((y1 - y0) or 1)

    def px(x: float, y: float) -> tuple[float, float]:
        return MARGIN_LEFT + (x - x0) * sx, HEIGHT - MARGIN_BOTTOM - (y - y0) * sy

    parts = [f'<circle class="point" cx="{a:.1f}" cy="{b:.1f}" r="2.5" fill="{PALETTE[0]}" fill-opacity="0.6"/>'
             for a, b in (px(x, y) for x, y in points)]
    if line is not None:
        (ax, ay), (bx, by) = px(x0, line[0] + line[1] * x0), px(x1, line[0] + line[1] * x1)
        parts.append(f'<line class="fit" x1="{ax:.1f}" y1="{ay:.1f}" x2="{bx:.1f}" y2="{by:.1f}" stroke="{PALETTE[3]}" stroke-width="2"/>')
    parts.append(f'<text x="{MARGIN_LEFT}" y="{HEIGHT - MARGIN_BOTTOM + 14}" class="tick">{_fmt(x0)}</text>')
    parts.append(f'<text x="{WIDTH - MARGIN_RIGHT}" y="{HEIGHT - MARGIN_BOTTOM + 14}" text-anchor="end" class="tick">{_fmt(x1)}</text>')
    parts.append(f'<text x="{MARGIN_LEFT - 4}" y="{MARGIN_TOP + 4}" text-anchor="end" class="tick">{_fmt(y1)}</text>')
    return _frame(title, "".join(parts), x_label, y_label)


def bars(title: str, items: Sequence[tuple[str, float]], unit: str) -> str:
    """Horizontal bars, one per named item, longest first as given (a per-function profile)."""
    if not items:
        return _frame(title, f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">nothing</text>', "", "")
    top = max(v for _, v in items) or 1.0
    label_w = 200
    plot_w = WIDTH - label_w - MARGIN_RIGHT - 60
    row_h = 14
    parts = []
    for i, (name, value) in enumerate(items):
        y = MARGIN_TOP + 8 + i * row_h
        w = plot_w * value / top
        parts.append(f'<text x="{label_w - 4}" y="{y + 10}" text-anchor="end" class="tick">{escape(name[:34])}</text>')
        parts.append(f'<rect class="bar" x="{label_w}" y="{y}" width="{max(w, 0.5):.1f}" height="{row_h - 3}" '
                     f'fill="{PALETTE[0]}"><title>{escape(name)}: {_fmt(value)} {escape(unit)}</title></rect>')
        parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + 10}" class="tick">{_fmt(value)}</text>')
    height = MARGIN_TOP + 16 + len(items) * row_h
    svg = _frame(title, "".join(parts), unit, "", axes=False)
    return svg.replace(f'height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}"', f'height="{height}" viewBox="0 0 {WIDTH} {height}"', 1)
