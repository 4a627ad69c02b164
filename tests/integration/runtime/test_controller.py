"""A controller against the real kube-apiserver: watch → queue → reconcile, and an
owned object's change re-triggering its owner.

The reconciler is deliberately trivial — it copies a ConfigMap's data into an owned
``<name>-copy`` ConfigMap with a controller ownerReference — so what is tested is the
runtime: the cache's events reach the queue, owned objects map to their owner through
``EnqueueRequestForOwner``, and a hand edit of the copy is reverted.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Mapping
from typing import Any

import anyio
import pytest
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ConfigMap

from kubeweft.localcluster.access import ClusterAccess
from kubeweft.runtime import errors, metrics
from kubeweft.runtime.builder import ControllerBuilder
from kubeweft.runtime.cache import Cache, CacheOptions
from kubeweft.runtime.client import Client
from kubeweft.runtime.controller import Controller, ControllerOptions
from kubeweft.runtime.informer import InformerOptions
from kubeweft.runtime.manager import Manager, ManagerOptions
from kubeweft.runtime.objects import owner_reference
from kubeweft.runtime.predicate import Funcs
from kubeweft.runtime.reconcile import Request, Result
from tests.support.waiting import wait_until_async

pytestmark = [pytest.mark.localcluster, pytest.mark.anyio]

_names = itertools.count()
ROLE = "kubeweft.dev/test-role"


@pytest.fixture
async def client(local_cluster: ClusterAccess) -> AsyncIterator[Client]:
    async with Client.from_kubeconfig(local_cluster.kubeconfig_path) as c:
        yield c


def is_source(obj: Any) -> bool:
    return (obj.metadata.labels or {}).get(ROLE) == "source"


class CopyReconciler:
    """Keeps ``<name>-copy`` equal to the source ConfigMap ``<name>``."""

    def __init__(self, client: Client, cache: Cache, identity: str = "") -> None:
        self.client = client
        self.cache = cache
        self.identity = identity
        self.requests: list[Request] = []

    async def reconcile(self, request: Request) -> Result:
        self.requests.append(request)
        try:
            source = await self.cache.get(ConfigMap, request.name, request.namespace)
        except errors.NotFound:
            return Result()  # deleted: the copy is garbage-collected by its ownerReference
        want = dict(source.data or {})
        name = f"{request.name}-copy"
        annotations = {"reconciled-by": self.identity}
        try:
            copy = await self.cache.get(ConfigMap, name, request.namespace)
        except errors.NotFound:
            await self.client.create(
                ConfigMap(
                    metadata=ObjectMeta(
                        name=name,
                        namespace=request.namespace,
                        labels={ROLE: "copy"},
                        annotations=annotations,
                        ownerReferences=[owner_reference(source)],
                    ),
                    data=want,
                )
            )
            return Result()
        have = dict(copy.data or {})
        if have != want:
            patch: dict[str, Any] = {
                "data": {**{k: None for k in have if k not in want}, **want},
                "metadata": {"annotations": annotations},
            }
            await self.client.patch(ConfigMap, name, patch, namespace=request.namespace)
        return Result()


def start_manager(
    client: Client, namespace: str, options: ManagerOptions | None = None, identity: str = ""
) -> tuple[Manager, CopyReconciler, Controller]:
    cache = Cache(client, CacheOptions(defaults=InformerOptions(namespace=namespace)))
    manager = Manager(client, cache, options)
    reconciler = CopyReconciler(client, cache, identity)
    controller = (
        ControllerBuilder(manager)
        .named(f"it-copy-{next(_names)}")
        .for_(ConfigMap, Funcs(create=is_source, update=lambda o, n: is_source(n)))
        .owns(ConfigMap)
        .with_options(ControllerOptions(max_concurrent_reconciles=2))
        .complete(reconciler)
    )
    return manager, reconciler, controller


async def copy_data(client: Client, namespace: str, name: str) -> Mapping[str, str] | None:
    try:
        copy = await client.get(ConfigMap, f"{name}-copy", namespace)
    except errors.NotFound:
        return None
    return copy.data or {}


async def source_cm(client: Client, namespace: str, name: str, data: dict[str, str]) -> ConfigMap:
    return await client.create(
        ConfigMap(
            metadata=ObjectMeta(name=name, namespace=namespace, labels={ROLE: "source"}),
            data=data,
        )
    )


async def test_watch_queue_reconcile_and_owned_changes_retrigger_the_owner(
    client: Client, namespace: str
) -> None:
    manager, reconciler, controller = start_manager(client, namespace)
    async with anyio.create_task_group() as tg:
        await tg.start(manager.run)
        assert (await manager.check_ready()).ok

        source = await source_cm(client, namespace, "app", {"greeting": "hello"})

        async def copied(expected: dict[str, str]) -> bool:
            return await copy_data(client, namespace, "app") == expected

        await wait_until_async(lambda: copied({"greeting": "hello"}), what="copy created")
        copy = await client.get(ConfigMap, "app-copy", namespace)
        assert copy.metadata is not None
        assert source.metadata is not None
        refs = copy.metadata.ownerReferences or []
        assert len(refs) == 1
        ref = refs[0]
        assert (ref.kind, ref.name, ref.uid, ref.controller) == (
            "ConfigMap",
            "app",
            source.metadata.uid,
            True,
        )

        # A change to the owner is followed.
        await client.patch(ConfigMap, "app", {"data": {"greeting": "bonjour"}}, namespace=namespace)
        await wait_until_async(lambda: copied({"greeting": "bonjour"}), what="copy updated")

        # A hand edit of the owned object maps to its owner's key and is reverted.
        before = len(reconciler.requests)
        await client.patch(
            ConfigMap, "app-copy", {"data": {"greeting": "hacked", "x": "1"}}, namespace=namespace
        )
        await wait_until_async(lambda: copied({"greeting": "bonjour"}), what="drift reverted")
        assert Request(namespace, "app") in reconciler.requests[before:]
        assert Request(namespace, "app-copy") not in reconciler.requests  # never its own key

        successes = metrics.REGISTRY.get_sample_value(
            "controller_runtime_reconcile_total",
            {"controller": controller.name, "result": "success"},
        )
        assert successes is not None
        assert successes >= 3
        tg.cancel_scope.cancel()


async def test_reconcile_error_is_retried_with_backoff_and_counted(
    client: Client, namespace: str
) -> None:
    manager, reconciler, controller = start_manager(client, namespace)
    failures = 0
    original = reconciler.reconcile

    async def flaky(request: Request) -> Result:
        nonlocal failures
        if failures < 3:
            failures += 1
            raise errors.ServerError(500, "InternalError", "injected")
        return await original(request)

    reconciler.reconcile = flaky  # type: ignore[method-assign]
    async with anyio.create_task_group() as tg:
        await tg.start(manager.run)
        await source_cm(client, namespace, "flaky", {"k": "v"})

        async def copied() -> bool:
            return await copy_data(client, namespace, "flaky") == {"k": "v"}

        await wait_until_async(copied, what="copy created after retries")
        tg.cancel_scope.cancel()
    labels = {"controller": controller.name}
    assert (
        metrics.REGISTRY.get_sample_value("controller_runtime_reconcile_errors_total", labels) == 3
    )
    assert controller.queue.num_requeues(Request(namespace, "flaky")) == 0  # forgotten
