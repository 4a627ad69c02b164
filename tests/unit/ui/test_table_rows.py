"""RowCache: a table row is rendered once per object version, and again whenever anything
it shows changes — a new version, its age text, its latest metrics, the page's metric
columns — never served stale."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from kubeweft.examples.webapp.api.v1alpha1 import WebApp
from kubeweft.ui import pages
from kubeweft.ui.table_rows import RowCache
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


class Ages:
    """An age column's text, as the clock would move it on."""

    def __init__(self) -> None:
        self.text = "3d"

    def __call__(self, value: Any) -> str:
        assert value == WHEN
        return self.text


def cache(ages: Ages) -> RowCache:
    return RowCache(lambda: pages._templates().get_template("table_row.html"), ages)


def row(rows: RowCache, obj: WebApp, metrics: dict[str, MetricPoint] | None = None) -> Any:
    item = ListItem(obj, metrics or {}, 70)
    names = sorted(item.latest_metrics)
    return rows.rows("webapps", True, COLUMNS, names, [item])[0]


def test_a_row_is_rendered_once_per_version_and_again_for_a_new_one() -> None:
    rows = cache(Ages())
    first = row(rows, webapp("nginx:1.27", "10"))
    assert 'href="/ui/webapps/team-a/web-a"' in first
    assert "nginx:1.27" in first
    assert ">3d</time>" in first
    assert "Degraded" in first
    assert row(rows, webapp("nginx:1.27", "10")) is first  # the kept rendering
    changed = row(rows, webapp("nginx:1.28", "11"))
    assert "nginx:1.28" in changed
    assert "nginx:1.27" not in changed


def test_the_age_and_the_metrics_are_part_of_a_rows_key() -> None:
    ages = Ages()
    rows = cache(ages)
    obj = webapp("nginx:1.27", "10")
    assert ">3d</time>" in row(rows, obj)
    ages.text = "4d"
    assert ">4d</time>" in row(rows, obj)
    sample = {"cpu": MetricPoint(0.25, WHEN)}
    assert ">0.25</span>" in row(rows, obj, sample)
    assert ">0.5</span>" in row(rows, obj, {"cpu": MetricPoint(0.5, WHEN)})
    assert "0.5" not in row(rows, obj)  # no metric columns on this page


def test_an_object_without_a_version_is_rendered_every_time() -> None:
    rows = cache(Ages())
    obj = webapp("nginx:1.27", "")
    assert "nginx:1.27" in row(rows, obj)
    assert len(rows) == 0
