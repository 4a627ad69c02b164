"""Metric charts for the detail page: inline SVG written here, no script, no library.

A chart is a few dozen path points per metric (``SLICES`` per window, grouped by the
database: ``repositories.metrics.metric_buckets``), so the server draws it as SVG text
in the page: nothing to ship or pin, nothing fetched at run time, the same picture with
scripts off, and a live refresh replaces it like any other region. Samples record
changes (a value is written again only at the heartbeat), so the line holds each
slice's average until the next slice with samples — a step line — and the last one up
to now, unless no sample came for longer than the heartbeat (the reporting stopped);
a pale band shows each slice's min..max. Every chart is an ``img`` with a title and a description
(first, last, lowest and highest value), and its numbers are in a table beside it.

Why not a JS charting library: see docs/design/dashboard.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from markupsafe import Markup, escape

from kubeweft.views.records import MetricBucket

__all__ = ["DEFAULT_WINDOW", "SLICES", "WINDOWS", "Chart", "charts"]

#: The windows a detail page offers, by the label in its ``?window=`` switch.
WINDOWS: Mapping[str, timedelta] = {
    "1h": timedelta(hours=1),
    "6h": timedelta(hours=6),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
}
DEFAULT_WINDOW = "1h"
#: Slices per window: one point per minute over an hour, per 2.8 hours over a week.
SLICES = 60

_W, _H = 600, 150  # the drawing's own units (it scales to its box)
_LEFT, _RIGHT, _TOP, _BOTTOM = 52, 8, 10, 22


@dataclass(frozen=True)
class Row:
    """One slice with samples, for the table beside the chart."""

    start: datetime
    min: float
    avg: float
    max: float
    count: int


@dataclass(frozen=True)
class Chart:
    name: str
    svg: Markup
    rows: list[Row]
    summary: str


def _number(value: float) -> str:
    return f"{value:.4g}"


def _when(at: datetime, window: timedelta) -> str:
    return at.strftime("%H:%M" if window <= timedelta(days=1) else "%a %H:%M")


def _draw(
    name: str,
    buckets: Sequence[MetricBucket],
    since: datetime,
    until: datetime,
    summary: str,
    hold: int,
) -> Markup:
    low = min(b.min for b in buckets)
    high = max(b.max for b in buckets)
    if high == low:
        low, high = low - 1, high + 1
    plot_w, plot_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM

    def x(index: float) -> float:
        return _LEFT + plot_w * index / SLICES

    def y(value: float) -> float:
        return _TOP + plot_h * (high - value) / (high - low)

    line, band_top, band_bottom = [], [], []
    for position, bucket in enumerate(buckets):
        following = buckets[position + 1].index if position + 1 < len(buckets) else None
        end = following if following is not None else min(SLICES, bucket.index + 1 + hold)
        for at in (bucket.index, end):
            line.append(f"{x(at):.1f},{y(bucket.avg):.1f}")
        band_top.append(f"{x(bucket.index):.1f},{y(bucket.max):.1f}")
        band_top.append(f"{x(bucket.index + 1):.1f},{y(bucket.max):.1f}")
        band_bottom.append(f"{x(bucket.index):.1f},{y(bucket.min):.1f}")
        band_bottom.append(f"{x(bucket.index + 1):.1f},{y(bucket.min):.1f}")
    window = until - since
    ident = "chart-" + "".join(c if c.isalnum() else "-" for c in name)
    parts = [
        f'<svg class="chart" viewBox="0 0 {_W} {_H}" role="img" '
        f'aria-labelledby="{ident}-t {ident}-d">',
        f'<title id="{ident}-t">{escape(name)}</title>',
        f'<desc id="{ident}-d">{escape(summary)}</desc>',
        f'<line class="axis" x1="{_LEFT}" y1="{_TOP + plot_h}" x2="{_W - _RIGHT}" '
        f'y2="{_TOP + plot_h}"/>',
        f'<line class="grid" x1="{_LEFT}" y1="{_TOP}" x2="{_W - _RIGHT}" y2="{_TOP}"/>',
        f'<text class="tick" x="{_LEFT - 6}" y="{_TOP + 4}" text-anchor="end">'
        f"{_number(high)}</text>",
        f'<text class="tick" x="{_LEFT - 6}" y="{_TOP + plot_h}" text-anchor="end">'
        f"{_number(low)}</text>",
        f'<text class="tick" x="{_LEFT}" y="{_H - 4}">{_when(since, window)}</text>',
        f'<text class="tick" x="{_W - _RIGHT}" y="{_H - 4}" text-anchor="end">'
        f"{_when(until, window)}</text>",
        f'<polygon class="band" points="{" ".join(band_top + band_bottom[::-1])}"/>',
        f'<polyline class="line" points="{" ".join(line)}"/>',
        # The newest value as a dot: a series that began minutes ago is a few pixels of
        # line in a week's chart, and should still be seen.
        f'<circle class="last" cx="{line[-1].split(",")[0]}" cy="{line[-1].split(",")[1]}" '
        'r="3.5"/>',
        "</svg>",
    ]
    return Markup("".join(parts))


def charts(
    found: Mapping[str, Sequence[MetricBucket]],
    since: datetime,
    until: datetime,
    heartbeat: timedelta,
) -> list[Chart]:
    """One chart per metric with samples in the window, by name; ``heartbeat`` is how
    often an unchanged value is sampled again (how long a last value is held)."""
    width = (until - since) / SLICES
    hold = int(heartbeat / width)  # whole slices a heartbeat spans beyond its own
    drawn = []
    for name in sorted(found):
        buckets = sorted(found[name], key=lambda b: b.index)
        if not buckets:
            continue
        summary = (
            f"{sum(b.count for b in buckets)} samples between {since:%Y-%m-%d %H:%M} and "
            f"{until:%Y-%m-%d %H:%M} UTC: first {_number(buckets[0].avg)}, last "
            f"{_number(buckets[-1].avg)}, lowest {_number(min(b.min for b in buckets))}, "
            f"highest {_number(max(b.max for b in buckets))}."
        )
        rows = [Row(since + width * b.index, b.min, b.avg, b.max, b.count) for b in buckets]
        svg = _draw(name, buckets, since, until, summary, hold)
        drawn.append(Chart(name, svg, rows, summary))
    return drawn
