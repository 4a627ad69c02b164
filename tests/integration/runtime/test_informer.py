"""Informer and cache against the real kube-apiserver: events, indexes, read-your-writes,
API server restarts, relist on 410 Gone and reconnection of an idle watch."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import pytest
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ConfigMap

from kubeweft.examples.webapp.api.v1 import WebApp, WebAppSpec
from kubeweft.localcluster.access import ClusterAccess
from kubeweft.runtime import errors, metrics
from kubeweft.runtime.cache import Cache, CacheOptions
from kubeweft.runtime.client import Client
from kubeweft.runtime.index import OWNER_UID_INDEX, OWNERS_INDEX
from kubeweft.runtime.informer import InformerOptions, SharedInformer
from kubeweft.runtime.objects import owner_reference
from kubeweft.runtime.retry import RetryPolicy

pytestmark = [pytest.mark.localcluster, pytest.mark.anyio]


@pytest.fixture
async def client(local_cluster: ClusterAccess, webapp_crd: str) -> AsyncIterator[Client]:
    retry = RetryPolicy(max_attempts=10, base_delay=0.2, max_delay=2.0)
    async with Client.from_kubeconfig(local_cluster.kubeconfig_path, retry=retry) as c:
        yield c


class RecordingHandler:
    """Remembers every callback; tests wait for a condition on what it saw."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Any]] = []
        self._changed = anyio.Event()

    def on_add(self, obj: Any, is_initial_list: bool) -> None:
        self._record("initial" if is_initial_list else "add", obj)

    def on_update(self, old: Any, new: Any) -> None:
        self._record("update", new)

    def on_delete(self, obj: Any) -> None:
        self._record("delete", obj)

    def _record(self, what: str, obj: Any) -> None:
        self.calls.append((what, obj.metadata.name, obj))
        changed, self._changed = self._changed, anyio.Event()
        changed.set()

    def seen(self, what: str, name: str) -> list[Any]:
        return [obj for kind, n, obj in self.calls if kind == what and n == name]

    async def wait_for(self, condition: Callable[[], bool]) -> None:
        with anyio.fail_after(60):
            while not condition():
                await self._changed.wait()


class Boom:
    def on_add(self, obj: Any, is_initial_list: bool) -> None:
        raise RuntimeError("handler bug")

    on_update = on_delete = lambda self, *args: self.on_add(args[-1], False)


def config_map(name: str, namespace: str, **data: str) -> ConfigMap:
    return ConfigMap(metadata=ObjectMeta(name=name, namespace=namespace), data=data or None)


def webapp(name: str, namespace: str) -> WebApp:
    return WebApp(metadata={"name": name, "namespace": namespace}, spec=WebAppSpec(image="nginx"))


async def test_informer_delivers_events_keeps_indexes_and_survives_handler_errors(
    client: Client, namespace: str
) -> None:
    await client.create(config_map("before", namespace))
    informer = SharedInformer(client, ConfigMap, InformerOptions(namespace=namespace))
    informer.add_index("by-data-key", lambda cm: list((cm.data or {}).keys()))
    handler = RecordingHandler()
    informer.add_event_handler(Boom())
    informer.add_event_handler(handler)
    async with anyio.create_task_group() as group:
        await group.start(informer.run)
        assert informer.has_synced()
        assert handler.seen("initial", "before")

        created = await client.create(config_map("after", namespace, colour="blue"))
        await handler.wait_for(lambda: bool(handler.seen("add", "after")))
        assert [
            cm.metadata.name for cm in informer.by_index("by-data-key", "colour") if cm.metadata
        ] == ["after"]

        updated = await client.patch(
            ConfigMap, "after", {"data": {"colour": "red"}}, namespace=namespace
        )
        assert updated.metadata is not None
        assert updated.metadata.resourceVersion is not None
        assert await informer.wait_for_resource_version(updated.metadata.resourceVersion, 30)
        cached = informer.get(namespace, "after")
        assert cached is not None
        assert cached.data == {"colour": "red"}
        assert cached.metadata is not None
        assert cached.metadata.managedFields is None  # stripped by the default transform

        await client.delete(ConfigMap, "after", namespace)
        await handler.wait_for(lambda: bool(handler.seen("delete", "after")))
        assert informer.get(namespace, "after") is None
        assert informer.by_index("by-data-key", "colour") == []
        assert created.metadata is not None
        group.cancel_scope.cancel()


async def test_cache_reads_typed_objects_and_indexes_owned_objects(
    client: Client, namespace: str
) -> None:
    cache = Cache(client, CacheOptions(defaults=InformerOptions(namespace=namespace)))
    owner = await client.create(webapp("owner", namespace))
    owned = config_map("owned", namespace)
    assert owned.metadata is not None
    owned.metadata.ownerReferences = [owner_reference(owner)]
    await client.create(owned)
    await client.create(config_map("stray", namespace))
    cache.informer_for(WebApp)
    async with anyio.create_task_group() as group:
        await group.start(cache.run)
        # An informer asked for after start is started at once.
        children = await cache.by_index(ConfigMap, OWNER_UID_INDEX, owner.metadata.uid or "")
        assert [c.metadata.name for c in children if c.metadata] == ["owned"]

        got = await cache.get(WebApp, "owner", namespace)
        assert isinstance(got, WebApp)
        got.spec.replicas = 42  # a deep copy: the cache is not affected
        assert (await cache.get(WebApp, "owner", namespace)).spec.replicas == 1
        with pytest.raises(errors.NotFound):
            await cache.get(WebApp, "nobody", namespace)
        assert len(await cache.list(ConfigMap, namespace)) >= 2
        group.cancel_scope.cancel()


class UpdateRecorder(RecordingHandler):
    """Remembers each update's old and new data as well."""

    def __init__(self) -> None:
        super().__init__()
        self.updates: list[tuple[Any, Any]] = []

    def on_update(self, old: Any, new: Any) -> None:
        self.updates.append((old.data, new.data))
        super().on_update(old, new)


async def test_an_owned_kind_is_kept_encoded_and_read_as_private_copies(
    client: Client, namespace: str
) -> None:
    """An owned-only informer holds JSON bytes: each read decodes an object the caller
    owns (no deep copy needed), events still carry objects, the old one included, and
    the owners index finds a child by any owner reference, controller or not."""
    cache = Cache(
        client,
        CacheOptions(
            defaults=InformerOptions(namespace=namespace), owned_label_selector="tier=child"
        ),
    )
    owner = await client.create(webapp("owner", namespace))
    uid = owner.metadata.uid or ""
    child = config_map("child", namespace, v="0")
    assert child.metadata is not None
    child.metadata.labels = {"tier": "child"}
    child.metadata.ownerReferences = [owner_reference(owner, controller=False)]
    await client.create(child)
    informer = cache.informer_for(ConfigMap, owned=True)
    assert informer.returns_copies
    assert not cache.informer_for(WebApp).returns_copies
    handler = UpdateRecorder()
    informer.add_event_handler(handler)
    async with anyio.create_task_group() as group:
        await group.start(cache.run)
        first, second = informer.get(namespace, "child"), informer.get(namespace, "child")
        assert first is not None
        assert first is not second
        assert first == second
        assert first.metadata is not None
        assert first.metadata.managedFields is None
        got = await cache.get(ConfigMap, "child", namespace)
        assert got.data == {"v": "0"}
        got.data["v"] = "mutated"  # the caller's own copy
        assert (await cache.get(ConfigMap, "child", namespace)).data == {"v": "0"}
        assert [c.metadata.name for c in informer.by_index(OWNERS_INDEX, uid) if c.metadata] == [
            "child"
        ]

        await client.patch(ConfigMap, "child", {"data": {"v": "1"}}, namespace=namespace)
        await handler.wait_for(lambda: bool(handler.updates))
        assert handler.updates == [({"v": "0"}, {"v": "1"})]
        assert [c.data for c in await cache.list(ConfigMap, namespace)] == [{"v": "1"}]

        await client.delete(ConfigMap, "child", namespace)
        await handler.wait_for(lambda: bool(handler.seen("delete", "child")))
        assert handler.seen("delete", "child")[0].data == {"v": "1"}
        assert informer.get(namespace, "child") is None
        assert informer.by_index(OWNERS_INDEX, uid) == []
        group.cancel_scope.cancel()


async def test_informer_survives_an_api_server_restart_without_losing_updates(
    client: Client, namespace: str, local_cluster: ClusterAccess
) -> None:
    for name in ("a", "b", "c"):
        await client.create(config_map(name, namespace, v="0"))
    informer = SharedInformer(
        client, ConfigMap, InformerOptions(namespace=namespace, backoff_initial=0.2)
    )
    handler = RecordingHandler()
    informer.add_event_handler(handler)
    async with anyio.create_task_group() as group:
        await group.start(informer.run)
        await anyio.to_thread.run_sync(local_cluster.restart_apiserver)
        # Changed right after the restart, while the informer is still reconnecting.
        await client.patch(ConfigMap, "a", {"data": {"v": "1"}}, namespace=namespace)
        await client.delete(ConfigMap, "b", namespace)
        await client.create(config_map("d", namespace, v="0"))

        def converged() -> bool:
            a = informer.get(namespace, "a")
            return (
                a is not None
                and a.data == {"v": "1"}
                and informer.get(namespace, "b") is None
                and informer.get(namespace, "d") is not None
            )

        await handler.wait_for(converged)
        assert handler.seen("delete", "b")
        assert handler.seen("add", "d")
        group.cancel_scope.cancel()


async def test_informer_relists_on_gone_and_reports_deletions_missed_meanwhile(
    client: Client, namespace: str
) -> None:
    await client.create(config_map("kept", namespace))
    await client.create(config_map("doomed", namespace))
    informer = SharedInformer(client, ConfigMap, InformerOptions(namespace=namespace))
    handler = RecordingHandler()
    informer.add_event_handler(handler)
    async with anyio.create_task_group() as group:
        await group.start(informer.run)
        group.cancel_scope.cancel()

    # While the informer is not watching: a deletion, a change and a creation.
    await client.delete(ConfigMap, "doomed", namespace)
    await client.patch(ConfigMap, "kept", {"data": {"x": "1"}}, namespace=namespace)
    await client.create(config_map("newcomer", namespace))
    # Resume from a version etcd has compacted long ago: the watch answers 410 Gone.
    informer._resource_version = "1"
    gone_before = metrics.INFORMER_RELISTS.labels("ConfigMap", "gone")._value.get()

    async with anyio.create_task_group() as group:
        group.start_soon(informer.run)
        await handler.wait_for(lambda: bool(handler.seen("delete", "doomed")))
        await handler.wait_for(lambda: bool(handler.seen("add", "newcomer")))
        await handler.wait_for(lambda: bool(handler.seen("update", "kept")))
        group.cancel_scope.cancel()
    assert metrics.INFORMER_RELISTS.labels("ConfigMap", "gone")._value.get() == gone_before + 1
    assert informer.get(namespace, "doomed") is None


async def test_informer_reconnects_a_silent_watch(client: Client, namespace: str) -> None:
    informer = SharedInformer(
        client, ConfigMap, InformerOptions(namespace=namespace, idle_timeout=1.0)
    )
    handler = RecordingHandler()
    informer.add_event_handler(handler)
    idle = metrics.INFORMER_RELISTS.labels("ConfigMap", "idle")
    before = idle._value.get()
    async with anyio.create_task_group() as group:
        await group.start(informer.run)
        with anyio.fail_after(30):
            while idle._value.get() < before + 2:  # noqa: ASYNC110 - polling a counter
                await anyio.sleep(0.2)
        # Still listening after reconnecting.
        await client.create(config_map("late", namespace))
        await handler.wait_for(lambda: bool(handler.seen("add", "late")))
        group.cancel_scope.cancel()
