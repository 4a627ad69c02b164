"""The detail page's charts: a step line that holds each value, and its text alternative."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from kubeweft.ui.charts import SLICES, charts
from kubeweft.views.records import MetricBucket

UNTIL = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
HEARTBEAT = timedelta(minutes=4)


def slices_of(svg: str) -> list[tuple[float, float]]:
    """The line's points as (slice, value), read back from the drawing's coordinates."""
    points = re.search(r'<polyline class="line" points="([^"]+)"', svg)
    assert points is not None
    left, width = 52, 600 - 52 - 8
    return [
        (round((float(x) - left) / width * SLICES, 3), float(y))
        for x, y in (p.split(",") for p in points[1].split())
    ]


def test_each_value_is_held_until_the_next_and_the_last_for_a_heartbeat() -> None:
    found = {"ready": [MetricBucket(30, 1, 1, 1, 1), MetricBucket(2, 3, 3, 3, 2)]}
    (hour,) = charts(found, UNTIL - timedelta(hours=1), UNTIL, HEARTBEAT)
    line = slices_of(hour.svg)
    # From slice 2 at 3 to slice 30, then 1 held for the 4-minute heartbeat (4 slices).
    assert [x for x, _ in line] == [2, 30, 30, 35]
    dot = re.search(r'<circle class="last" cx="([0-9.]+)" cy="([0-9.]+)"', hour.svg)
    assert dot is not None  # the newest value, marked
    assert slices_of(f'<polyline class="line" points="{dot[1]},{dot[2]}"')[0] == line[-1]
    assert line[0][1] == line[1][1] < line[2][1] == line[3][1]  # 3 drawn above 1: y grows down
    (week,) = charts(found, UNTIL - timedelta(days=7), UNTIL, HEARTBEAT)
    assert [x for x, _ in slices_of(week.svg)] == [2, 30, 30, 31]  # a week's slice: 2.8 h
    (late,) = charts(
        {"ready": [MetricBucket(59, 2, 2, 2, 1)]}, UNTIL - timedelta(hours=1), UNTIL, HEARTBEAT
    )
    assert [x for x, _ in slices_of(late.svg)] == [59, 60]  # never past now


def test_a_chart_says_in_words_and_numbers_what_it_draws() -> None:
    found = {"cpu": [MetricBucket(0, 0.5, 2, 1.25, 4)], "mem": []}
    (chart,) = charts(found, UNTIL - timedelta(hours=6), UNTIL, HEARTBEAT)  # mem: no chart
    assert chart.name == "cpu"
    assert 'role="img" aria-labelledby="chart-cpu-t chart-cpu-d"' in chart.svg
    assert '<title id="chart-cpu-t">cpu</title>' in chart.svg
    assert chart.summary == (
        "4 samples between 2026-12-01 06:00 and 2026-12-01 12:00 UTC: "
        "first 1.25, last 1.25, lowest 0.5, highest 2."
    )
    assert f'<desc id="chart-cpu-d">{chart.summary}</desc>' in chart.svg
    assert [(r.start, r.min, r.avg, r.max, r.count) for r in chart.rows] == [
        (UNTIL - timedelta(hours=6), 0.5, 1.25, 2.0, 4)
    ]


def test_names_are_escaped() -> None:
    (chart,) = charts(
        {"<b>x</b>": [MetricBucket(0, 1, 1, 1, 1)]}, UNTIL - timedelta(hours=1), UNTIL, HEARTBEAT
    )
    assert "<b>" not in chart.svg
    assert "&lt;b&gt;x&lt;/b&gt;" in chart.svg
