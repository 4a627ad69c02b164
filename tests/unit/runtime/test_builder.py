"""ControllerBuilder: which sources a controller gets from For, Owns, the model's
``ModelInfo.owns`` and Watches."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.batch_v1 import Job
from lightkube.resources.core_v1 import ConfigMap, Service

from kubeweft.examples.webapp.api.v1 import WebApp
from kubeweft.runtime.builder import ControllerBuilder, owned_kind
from kubeweft.runtime.handler import EnqueueRequestForObject, EnqueueRequestForOwner
from kubeweft.runtime.manager import Manager
from kubeweft.runtime.predicate import GenerationChanged
from kubeweft.runtime.reconcile import Request, Result
from kubeweft.runtime.source import Channel, Kind
from tests.support.models import CronTab


class FakeCache:
    def __init__(self) -> None:
        self.kinds: list[type[Any]] = []
        self.owned: list[type[Any]] = []

    def informer_for(self, kind: type[Any], *, owned: bool = False) -> object:
        self.kinds.append(kind)
        if owned:
            self.owned.append(kind)
        return object()


class Noop:
    async def reconcile(self, request: Request) -> Result:
        return Result()


def sources(builder: ControllerBuilder) -> list[tuple[type[Any], str, tuple[Any, ...]]]:
    controller = builder.build(Noop())
    found = []
    for source in controller._sources:
        if isinstance(source, Kind):
            handler = type(source.handler).__name__
            if isinstance(source.handler, EnqueueRequestForOwner):
                handler += f"({source.handler.kind})"
            found.append((source.kind, handler, source.predicates))
        else:
            found.append((type(source), "", ()))
    return found


def builder() -> tuple[ControllerBuilder, FakeCache]:
    cache = FakeCache()
    return ControllerBuilder(Manager(client=None, cache=cache)), cache


def test_the_kinds_a_model_owns_are_watched_and_mapped_to_their_owner() -> None:
    build, cache = builder()
    generation = GenerationChanged()
    assert sources(build.for_(WebApp, generation)) == [
        (WebApp, EnqueueRequestForObject.__name__, (generation,)),
        (Deployment, "EnqueueRequestForOwner(WebApp)", ()),
        (Service, "EnqueueRequestForOwner(WebApp)", ()),
    ]
    assert cache.kinds == [WebApp, Deployment, Service]  # the manager's cache syncs them
    # Only the owned kinds may be cached by the managed-by label.
    assert cache.owned == [Deployment, Service]


def test_an_explicit_owns_replaces_the_declared_one_and_extra_watches_are_kept() -> None:
    build, _ = builder()
    generation = GenerationChanged()
    _, receive = anyio.create_memory_object_stream[Any]()
    channel = Channel(receive)
    found = sources(
        build.for_(WebApp)
        .owns(Service, generation)  # declared too: once, with the predicate given here
        .owns(ConfigMap)  # not declared: watched as well
        .watches(channel)
    )
    assert found == [
        (WebApp, EnqueueRequestForObject.__name__, ()),
        (Service, "EnqueueRequestForOwner(WebApp)", (generation,)),
        (ConfigMap, "EnqueueRequestForOwner(WebApp)", ()),
        (Deployment, "EnqueueRequestForOwner(WebApp)", ()),
        (Channel, "", ()),
    ]


def test_a_core_kind_as_for_has_no_declared_owns() -> None:
    build, cache = builder()
    assert [kind for kind, _, _ in sources(build.for_(ConfigMap))] == [ConfigMap]
    assert cache.kinds == [ConfigMap]


@pytest.mark.parametrize(
    ("api_version", "plural", "kind"),
    [
        ("apps/v1", "deployments", Deployment),
        ("v1", "services", Service),
        ("batch/v1", "jobs", Job),
        ("test.kubeweft.dev/v1", "crontabs", CronTab),
    ],
)
def test_owned_kind_resolves_core_and_custom_kinds(
    api_version: str, plural: str, kind: type[Any]
) -> None:
    assert owned_kind(api_version, plural) is kind


def test_an_unknown_owned_kind_says_to_pass_its_class() -> None:
    with pytest.raises(ValueError, match=r"example.com/v1.*widgets.*owns\(\)"):
        owned_kind("example.com/v1", "widgets")
