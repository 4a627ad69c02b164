"""Detail and list bodies written as bytes are the bodies the response schemas give,
byte for byte, and an object's part is rendered once per version."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from kubeweft.api import ObjectMeta
from kubeweft.api.meta import Condition
from kubeweft.examples.webapp.api.v1 import WebApp, WebAppSpec
from kubeweft.examples.webapp.api.v1.webapp_types import WebAppStatus
from kubeweft.rest import bodies
from kubeweft.rest.routes.model import ModelRoutes, _common
from kubeweft.views import (
    AnnotationEntry,
    DetailView,
    HistoryEntry,
    ListItem,
    ListPage,
    MetricAggregate,
    MetricPoint,
)

T0 = datetime(2026, 1, 2, 3, 4, 5, 400000, tzinfo=UTC)
T1 = datetime(2026, 1, 2, 3, 5, tzinfo=UTC)


def webapp(name: str, rv: str = "41") -> WebApp:
    return WebApp(
        metadata=ObjectMeta(
            name=name,
            namespace="team-a",
            uid=f"6c4c5a5e-1111-4222-8333-9444444444{len(name):02d}",
            resourceVersion=rv,
            generation=3,
            creationTimestamp=T0,
            labels={"tier": "web"},
        ),
        spec=WebAppSpec(image="nginx:1.27", replicas=3),
        status=WebAppStatus(
            replicas=3,
            ready_replicas=2,
            conditions=[
                Condition(type="Ready", status="False", last_transition_time=T1, reason="Scaling")
            ],
        ),
    )


def schema_detail(routes: ModelRoutes, view: DetailView) -> bytes:
    """The detail body as the response schema writes it (the reference)."""
    return (
        routes.schemas.read.model_validate(
            {
                **_common(view.obj, view.health_score),
                "history": [dataclasses.asdict(h) for h in view.history],
                "metrics": {k: dataclasses.asdict(v) for k, v in view.metrics.items()},
                "annotations": [dataclasses.asdict(a) for a in view.annotations],
            }
        )
        .model_dump_json(by_alias=True)
        .encode()
    )


def schema_list(routes: ModelRoutes, page: ListPage) -> bytes:
    items = [
        {
            **_common(item.obj, item.health_score),
            "latest_metrics": {k: dataclasses.asdict(v) for k, v in item.latest_metrics.items()},
        }
        for item in page.items
    ]
    return (
        routes.schemas.list_page.model_validate({"items": items, "continue": page.continue_token})
        .model_dump_json(by_alias=True)
        .encode()
    )


def test_detail_body_is_the_schemas_body() -> None:
    routes = ModelRoutes.of(WebApp)
    view = DetailView(
        obj=webapp("shop"),
        history=[
            HistoryEntry(
                2,
                {"image": "nginx:1.27"},
                [{"op": "replace", "path": "/image", "value": "nginx:1.27"}],
                "alice",
                "api",
                T1,
            ),
            HistoryEntry(1, {"image": "nginx"}, None, None, "reconciler", T0),
        ],
        metrics={"ready_replicas": MetricAggregate(2.0, 1.0, 3.0, 2.25, 4, T1)},
        annotations=[AnnotationEntry(7, "bob", "rolled back \u2603", T0)],
        health_score=55,
        reconcile_error_rate=0.5,
    )
    assert routes.read_of(view) == schema_detail(routes, view)
    empty = DetailView(webapp("shop"), [], {}, [], 100, None)
    assert routes.read_of(empty) == schema_detail(routes, empty)


def test_list_body_is_the_schemas_body() -> None:
    routes = ModelRoutes.of(WebApp)
    page = ListPage(
        [
            ListItem(webapp("a"), {"cpu": MetricPoint(0.5, T0), "ready": MetricPoint(2.0, T1)}, 70),
            ListItem(webapp("bb"), {}, 100),
            # No score given: the body takes the object's from its per-version cache.
            ListItem(webapp("ccc"), {"cpu": MetricPoint(1.25, T1)}),
            ListItem(webapp("dddd"), {}),
        ],
        "eyJ2IjoxfQ",
    )
    assert routes.list_of(page) == schema_list(routes, page)
    last = ListPage([], None)
    assert routes.list_of(last) == schema_list(routes, last)


def test_an_object_part_is_rendered_once_per_version() -> None:
    rendered: list[Any] = []

    def render(obj: Any) -> bytes:
        rendered.append(obj)
        return b'"name":"%s"' % obj.metadata.name.encode()

    parts = bodies.ObjectParts(render, capacity=2)
    first = webapp("a", rv="1")
    assert parts(first) == parts(webapp("a", rv="1")) == b'"name":"a"'
    assert len(rendered) == 1
    parts(webapp("a", rv="2"))  # a new version is rendered again
    assert len(rendered) == 2
    parts(webapp("bb", rv="1"))
    assert len(parts) == 2  # the oldest version went
    parts(first)
    assert len(rendered) == 4


def test_a_list_item_is_kept_for_its_version_and_its_read_only_samples() -> None:
    routes = ModelRoutes.of(WebApp)
    parts = routes.object_parts
    samples = MappingProxyType({"cpu": MetricPoint(0.5, T0)})
    first = parts.list_item(webapp("a", rv="7"), samples)
    reference = schema_list(routes, ListPage([ListItem(webapp("a", rv="7"), dict(samples))], None))
    assert b'{"items":[' + first + b'],"continue":null}' == reference
    # The same version and the same samples instance: the kept bytes themselves.
    assert parts.list_item(webapp("a", rv="7"), samples) is first
    # Another samples instance (the rows changed), another version, or samples a caller
    # may still change (a plain dict): built again, from what is given.
    changed = MappingProxyType({"cpu": MetricPoint(0.75, T1)})
    assert b"0.75" in parts.list_item(webapp("a", rv="7"), changed)
    assert parts.list_item(webapp("a", rv="8"), changed) is not parts.list_item(
        webapp("a", rv="7"), changed
    )
    plain = {"cpu": MetricPoint(0.5, T0)}
    item = parts.list_item(webapp("a", rv="7"), plain)
    plain["cpu"] = MetricPoint(9.5, T1)
    again = parts.list_item(webapp("a", rv="7"), plain)
    assert b"9.5" in again
    assert b"9.5" not in item
