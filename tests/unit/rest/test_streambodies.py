"""A live update's data built from the part recorded with the change is the list item
``ModelRoutes.item_json`` writes for the object, byte for byte."""

from __future__ import annotations

from datetime import UTC, datetime

from kubeweft.examples.webapp.api.v1 import WebApp
from kubeweft.rest.routes.model import ModelRoutes
from kubeweft.rest.streambodies import item_after_head
from kubeweft.views import MetricPoint
from tests.unit.rest.test_bodies import webapp

T = datetime(2026, 1, 2, 3, 4, 5, 400000, tzinfo=UTC)


def test_item_after_head_is_the_list_item() -> None:
    routes = ModelRoutes.of(WebApp)
    obj = webapp("web-1")
    head = routes.object_parts.list_head(obj)
    latest = {"ready_replicas": MetricPoint(2.0, T), "cpu": MetricPoint(0.25, T)}
    fields = {"owners": ["team-a"], "checkedAt": T}
    for samples, own in (({}, {}), (latest, {}), (latest, fields), ({}, fields)):
        expected = routes.item_json(obj, samples, own).encode()
        assert item_after_head(head, samples, own) == expected
