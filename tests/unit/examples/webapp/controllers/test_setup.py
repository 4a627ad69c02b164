"""The WebApp controller's wiring outside ``kubeweft.App`` (``setup_webapp_controller``,
``new_webapp_controller``, what integration tests run) watches the owned Deployments
through the same predicates as the shipped app."""

from __future__ import annotations

from typing import Any

from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Service

from kubeweft.examples.webapp.api.v1 import WebApp
from kubeweft.examples.webapp.app import app
from kubeweft.examples.webapp.controllers import webapp_events
from kubeweft.examples.webapp.controllers.setup import (
    new_webapp_controller,
    setup_webapp_controller,
)
from kubeweft.runtime import predicate
from kubeweft.runtime.controller import Controller
from kubeweft.runtime.manager import Manager
from kubeweft.runtime.source import Kind


class FakeCache:
    def informer_for(self, kind: type[Any], *, owned: bool = False) -> object:
        return object()


class NoEvents:
    def event(self, obj: Any, type: str, reason: str, message: str) -> None:
        return None


def _keys(controller: Controller) -> dict[type[Any], list[object]]:
    """Each watched kind's predicates, a ``Changed`` shown by its key function."""
    return {
        source.kind: [
            p.key if isinstance(p, predicate.Changed) else type(p) for p in source.predicates
        ]
        for source in controller._sources
        if isinstance(source, Kind)
    }


EXPECTED = {
    WebApp: [predicate.GenerationChanged],
    Deployment: [webapp_events.deployment_reads],
    Service: [],
}


def test_setup_webapp_controller_filters_deployments_as_the_shipped_app() -> None:
    manager = Manager(client=None, cache=FakeCache())
    controller = setup_webapp_controller(manager, events=NoEvents())
    assert _keys(controller) == EXPECTED


def test_new_webapp_controller_filters_deployments_as_the_shipped_app() -> None:
    controller = new_webapp_controller(FakeCache(), client=None, events=NoEvents())  # type: ignore[arg-type]
    assert _keys(controller) == EXPECTED


def test_the_shipped_app_gives_the_same_predicates() -> None:
    (spec,) = app._controllers
    owned = {
        kind: [p.key for p in predicates if isinstance(p, predicate.Changed)]
        for kind, predicates in spec.owned_predicates.items()
    }
    assert owned == {Deployment: [webapp_events.deployment_reads]}
