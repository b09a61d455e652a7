"""Small inline SVG charts for pages a server renders on every request.

Written by hand rather than with matplotlib (which draws the stand-alone reports): a matplotlib figure takes
a few hundred milliseconds, a page of the console must answer within 200 ms, and a point with its interval
is a handful of SVG elements. Every label is escaped; the SVG loads nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from uptake.reports.html import esc

ROW_HEIGHT = 26
LABEL_WIDTH = 150
PLOT_WIDTH = 420
VALUE_WIDTH = 170
POINT_COLOR = "#1f5f8b"


@dataclass(frozen=True)
class IntervalRow:
    label: str
    value: float
    low: float
    high: float
    color: str = POINT_COLOR


def _percent(value: float, signed: bool) -> str:
    return f"{value * 100:+.0f}" if signed else f"{value * 100:.0f}%"


def interval_chart(rows: Sequence[IntervalRow], *, low: float, high: float, title: str, signed: bool = False) -> str:
    """A forest plot: one line per row, the value as a dot on its interval, a zero line when 0 is in range.

    Values are fractions, shown as percent (points of percent with `signed`). `low`/`high` bound the axis;
    values outside are drawn at the edge.
    """
    span = high - low or 1.0

    def x(value: float) -> float:
        return LABEL_WIDTH + PLOT_WIDTH * (min(max(value, low), high) - low) / span

    height = ROW_HEIGHT * len(rows) + 30
    width = LABEL_WIDTH + PLOT_WIDTH + VALUE_WIDTH
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
        f"<title>{esc(title)}</title>",
    ]
    axis_y = ROW_HEIGHT * len(rows) + 6
    parts.append(f'<line x1="{LABEL_WIDTH}" y1="{axis_y}" x2="{LABEL_WIDTH + PLOT_WIDTH}" y2="{axis_y}" '
                 'stroke="#999"/>')
    for tick in (low, (low + high) / 2, high):
        parts.append(f'<text x="{x(tick):.1f}" y="{axis_y + 16}" font-size="11" text-anchor="middle" '
                     f'fill="#555">{esc(_percent(tick, signed))}</text>')
    if low < 0 < high:
        parts.append(f'<line x1="{x(0):.1f}" y1="0" x2="{x(0):.1f}" y2="{axis_y}" stroke="#bbb" '
                     'stroke-dasharray="3,3"/>')
    for index, row in enumerate(rows):
        y = ROW_HEIGHT * index + ROW_HEIGHT / 2
        value_text = f"{_percent(row.value, signed)} ({_percent(row.low, signed)} to {_percent(row.high, signed)})"
        parts.append(
            f'<g class="row"><text x="{LABEL_WIDTH - 8}" y="{y + 4:.1f}" font-size="12" text-anchor="end">'
            f"{esc(row.label)}</text>"
            f'<line x1="{x(row.low):.1f}" y1="{y:.1f}" x2="{x(row.high):.1f}" y2="{y:.1f}" stroke="{esc(row.color)}" '
            'stroke-width="3" stroke-linecap="round"/>'
            f'<circle cx="{x(row.value):.1f}" cy="{y:.1f}" r="5" fill="{esc(row.color)}"/>'
            f'<text x="{LABEL_WIDTH + PLOT_WIDTH + 10}" y="{y + 4:.1f}" font-size="12">{esc(value_text)}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)
