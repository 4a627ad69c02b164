"""The public builder path on the local control plane's real API server.

A controller built with only ``for_(Model)`` watches the kinds ``Model.model_info.owns``
declares (a change to an owned object brings its owner back), and the Event recorder
obtained from the manager runs with it, so the Events its reconciler records are
stored by the API server with no extra step.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest
from lightkube.models.core_v1 import ServicePort, ServiceSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Event, Service

from kubeweft.examples.webapp.api.v1 import WebApp, WebAppSpec
from kubeweft.localcluster.access import ClusterAccess
from kubeweft.runtime import errors
from kubeweft.runtime.builder import ControllerBuilder
from kubeweft.runtime.cache import Cache, CacheOptions
from kubeweft.runtime.client import Client
from kubeweft.runtime.informer import InformerOptions
from kubeweft.runtime.manager import Manager
from kubeweft.runtime.objects import owner_reference
from kubeweft.runtime.reconcile import Request, Result
from kubeweft.runtime.recorder import EventRecorder
from tests.support.waiting import wait_until_async

pytestmark = [pytest.mark.localcluster, pytest.mark.anyio]


@pytest.fixture
async def client(local_cluster: ClusterAccess, webapp_crd: str) -> AsyncIterator[Client]:
    async with Client.from_kubeconfig(local_cluster.kubeconfig_path) as c:
        yield c


class RecordingReconciler:
    """Notes every request and records a Normal Event on the WebApp it reconciles."""

    def __init__(self, cache: Cache, events: EventRecorder) -> None:
        self.cache = cache
        self.events = events
        self.requests: list[Request] = []

    async def reconcile(self, request: Request) -> Result:
        self.requests.append(request)
        try:
            webapp = await self.cache.get(WebApp, request.name, request.namespace)
        except errors.NotFound:
            return Result()
        self.events.event(webapp, "Normal", "Reconciled", f"reconcile {len(self.requests)}")
        return Result()


def manager_with_controller(client: Client, namespace: str) -> tuple[Manager, RecordingReconciler]:
    cache = Cache(client, CacheOptions(defaults=InformerOptions(namespace=namespace)))
    manager = Manager(client, cache)
    reconciler = RecordingReconciler(cache, manager.event_recorder("kubeweft-it-builder"))
    # Services are not named here: WebApp.model_info.owns declares them.
    ControllerBuilder(manager).named("it-builder").for_(WebApp).complete(reconciler)
    return manager, reconciler


async def test_a_kind_owned_in_model_info_only_retriggers_its_owner(
    client: Client, namespace: str
) -> None:
    manager, reconciler = manager_with_controller(client, namespace)
    async with anyio.create_task_group() as group:
        await group.start(manager.run)
        webapp = await client.create(
            WebApp(metadata={"name": "owner", "namespace": namespace}, spec=WebAppSpec(image="x"))
        )
        key = Request(namespace, "owner")

        async def reconciled_since(count: int) -> bool:
            return reconciler.requests[count:].count(key) > 0

        await wait_until_async(lambda: reconciled_since(0), what="the WebApp reconciled")
        before = len(reconciler.requests)
        await client.create(
            Service(
                metadata=ObjectMeta(
                    name="owner-web",
                    namespace=namespace,
                    ownerReferences=[owner_reference(webapp)],
                ),
                spec=ServiceSpec(ports=[ServicePort(port=80)]),
            )
        )
        await wait_until_async(
            lambda: reconciled_since(before), what="the owner reconciled after its Service"
        )
        assert set(reconciler.requests) == {key}  # the owner's key, never the Service's
        group.cancel_scope.cancel()


async def test_the_managers_recorder_stores_the_reconcilers_events(
    client: Client, namespace: str
) -> None:
    manager, _ = manager_with_controller(client, namespace)
    async with anyio.create_task_group() as group:
        await group.start(manager.run)
        await client.create(
            WebApp(metadata={"name": "noted", "namespace": namespace}, spec=WebAppSpec(image="x"))
        )

        async def stored() -> bool:
            events = await client.list(Event, namespace, field_selector="involvedObject.name=noted")
            return any(
                e.reason == "Reconciled"
                and e.source
                and e.source.component == "kubeweft-it-builder"
                for e in events.items
            )

        await wait_until_async(stored, what="the Reconciled Event stored by the API server")
        group.cancel_scope.cancel()
