"""RowCache: a table row is rendered once per object version, and again whenever anything
it shows changes — a new version, its latest metrics, the page's metric columns — never
served stale; its age text follows the clock without rendering it again. ``row_parts``
writes the exact HTML the table has always shown, every value escaped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kubeweft.examples.webapp.api.v1alpha1 import WebApp
from kubeweft.ui import table_rows
from kubeweft.ui.table_rows import RowCache, age_text, row_parts
from kubeweft.views.listing import ListItem
from kubeweft.views.records import MetricPoint

COLUMNS = [
    ("Image", "spec.image", "string"),
    ("Desired", "spec.replicas", "integer"),
    ("Age", "metadata.creationTimestamp", "date"),
]
WHEN = datetime(2026, 1, 1, tzinfo=UTC)


def webapp(image: str, version: str) -> WebApp:
    return WebApp.model_validate(
        {
            "metadata": {
                "name": "web-a",
                "namespace": "team-a",
                "uid": "u-1",
                "resourceVersion": version,
                "creationTimestamp": WHEN,
            },
            "spec": {"image": image, "replicas": 2},
        }
    )


class Clock:
    """The time the ages count to, moved by hand; counts how often it is read."""

    def __init__(self, after: timedelta) -> None:
        self.now = (WHEN + after).timestamp()
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        return self.now


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the rows rendered (not taken from the cache)."""
    rendered: list[str] = []

    def counting(*args: Any) -> tuple[str, ...]:
        rendered.append(args[5])
        return row_parts(*args)

    monkeypatch.setattr(table_rows, "row_parts", counting)
    return rendered


def row(rows: RowCache, obj: WebApp, metrics: dict[str, MetricPoint] | None = None) -> Any:
    item = ListItem(obj, metrics or {}, 70)
    names = sorted(item.latest_metrics)
    return rows.rows("webapps", True, COLUMNS, names, [item])[0]


def test_a_row_is_rendered_once_per_version_and_again_for_a_new_one(renders: list[str]) -> None:
    rows = RowCache(Clock(timedelta(days=3)))
    first = row(rows, webapp("nginx:1.27", "10"))
    assert 'href="/ui/webapps/team-a/web-a"' in first
    assert "nginx:1.27" in first
    assert ">3d</time>" in first
    assert "Degraded" in first
    assert row(rows, webapp("nginx:1.27", "10")) == first
    assert renders == ["web-a"]  # the second came from the cache
    changed = row(rows, webapp("nginx:1.28", "11"))
    assert "nginx:1.28" in changed
    assert "nginx:1.27" not in changed
    assert renders == ["web-a", "web-a"]


def test_the_age_follows_the_clock_without_rendering_the_row_again(renders: list[str]) -> None:
    clock = Clock(timedelta(days=3, hours=23))
    rows = RowCache(clock)
    obj = webapp("nginx:1.27", "10")
    assert ">3d</time>" in row(rows, obj)
    clock.now += 3600
    assert ">4d</time>" in row(rows, obj)
    assert renders == ["web-a"]


def test_a_page_reads_the_clock_once() -> None:
    clock = Clock(timedelta(minutes=5))
    items = [ListItem(webapp("nginx:1.27", "10"), {}, 70)] * 50
    shown = RowCache(clock).rows("webapps", True, COLUMNS, [], items)
    assert len(shown) == 50
    assert clock.reads == 1


def test_the_metrics_are_part_of_a_rows_key(renders: list[str]) -> None:
    rows = RowCache(Clock(timedelta(days=3)))
    obj = webapp("nginx:1.27", "10")
    sample = {"cpu": MetricPoint(0.25, WHEN)}
    assert ">0.25</span>" in row(rows, obj, sample)
    assert ">0.5</span>" in row(rows, obj, {"cpu": MetricPoint(0.5, WHEN)})
    assert "0.5" not in row(rows, obj)  # no metric columns on this page
    assert len(renders) == 3


def test_an_object_without_a_version_is_rendered_every_time(renders: list[str]) -> None:
    rows = RowCache(Clock(timedelta(days=3)))
    obj = webapp("nginx:1.27", "")
    assert "nginx:1.27" in row(rows, obj)
    assert "nginx:1.27" in row(rows, obj)
    assert len(rows) == 0
    assert len(renders) == 2


def test_a_row_is_the_tables_html_with_every_value_escaped() -> None:
    columns = [
        ("Image", "spec.image", "string"),
        ("Ready", "status.readyReplicas", "integer"),
        ("Created", "metadata.creationTimestamp", "date"),
        ("Weight", "spec.weight", "number"),
    ]
    parts = row_parts(
        "web&apps",
        True,
        columns,
        ["cpu", "q<1>"],
        "team-a",
        "web-a",
        ['<img src=x onerror="alert(1)">', None, "2026-01-01T00:00:00Z", 0.5],
        95,
        {"q<1>": MetricPoint(123456789.0, WHEN)},
    )
    assert parts == (
        '<tr><td>team-a</td><td><a href="/ui/web&amp;apps/team-a/web-a">web-a</a></td>'
        "<td>&lt;img src=x onerror=&#34;alert(1)&#34;&gt;</td>"
        '<td class="num"><span class="muted">—</span></td>'
        '<td><time datetime="2026-01-01T00:00:00Z" title="2026-01-01T00:00:00Z">',
        '</time></td><td class="num">0.5</td>'
        '<td><span class="health h-healthy"><span aria-hidden="true">●</span> Healthy '
        '<span class="score">95</span></span></td>'
        '<td class="num"><span class="muted">—</span></td>'
        '<td class="num"><span title="2026-01-01 00:00:00+00:00">1.23457e+08</span></td></tr>',
    )


def test_a_cluster_scoped_row_has_no_namespace_cell() -> None:
    (text,) = row_parts("zones", False, [], [], None, "z<1>", [], 10, {})
    assert text == (
        '<tr><td><a href="/ui/zones/z&lt;1&gt;">z&lt;1&gt;</a></td>'
        '<td><span class="health h-failing"><span aria-hidden="true">○</span> Failing '
        '<span class="score">10</span></span></td></tr>'
    )


def test_a_date_that_is_no_date_shows_no_age() -> None:
    obj = webapp("nginx:1.27", "10")
    columns = [("Image", "spec.image", "date")]  # a printer column typed wrongly
    (text,) = RowCache(Clock(timedelta(0))).rows(
        "webapps", True, columns, [], [ListItem(obj, {}, 70)]
    )
    assert '<time datetime="nginx:1.27" title="nginx:1.27"></time>' in text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(-5, "0s"), (0, "0s"), (59.9, "59s"), (60, "1m"), (3599, "59m"), (3600, "1h"), (86400, "1d")],
)
def test_an_age_is_its_largest_whole_unit(seconds: float, text: str) -> None:
    assert age_text(seconds) == text


def test_a_kept_rows_age_is_always_the_clocks() -> None:
    """A row keeps its ages until the first of them would change; at every moment it
    shows what the clock says — across seconds, minutes, hours and days, with one date
    column and with two."""
    seen = WHEN + timedelta(seconds=30.5)
    obj = webapp("nginx:1.27", "10")
    obj.metadata.annotations = {"seen": seen.isoformat()}
    columns = [*COLUMNS, ("Seen", "metadata.annotations.seen", "date")]
    clock = Clock(timedelta(seconds=-2))
    rows = RowCache(clock)
    item = ListItem(obj, {}, 70)
    steps = [0.2, 0.7, 1.0, 0.1, 29, 0.4, 0.6, 58, 0.5, 3540, 60, 82800, 3599.9, 0.1, 3 * 86400]
    for step in [0.0, *steps]:
        clock.now += step
        ages = [age_text(clock.now - instant.timestamp()) for instant in (WHEN, seen)]
        (one,) = rows.rows("webapps", True, COLUMNS, [], [item])
        assert [text.rpartition(">")[2] for text in one.split("</time>")[:-1]] == ages[:1]
        (two,) = rows.rows("seen-webapps", True, columns, [], [item])
        assert [text.rpartition(">")[2] for text in two.split("</time>")[:-1]] == ages
