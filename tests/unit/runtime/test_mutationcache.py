"""The mutation cache: a process's own writes read before the watch shows them, never
backwards, and heard at once by controllers (through their predicates), not twice.

The informer runs on a scripted client whose watch delivers exactly the events a test
sends, so each test decides what the watch has shown when.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ConfigMap

from kubeweft.runtime.cache import Cache, CacheOptions
from kubeweft.runtime.client import ObjectList, WatchEvent
from kubeweft.runtime.clock import FakeClock
from kubeweft.runtime.handler import EnqueueRequestForObject
from kubeweft.runtime.informer import InformerOptions
from kubeweft.runtime.mutationcache import MutationCache, integer_version
from kubeweft.runtime.objects import ObjectKey
from kubeweft.runtime.predicate import GenerationChanged
from kubeweft.runtime.reconcile import Request
from kubeweft.runtime.source import Kind

pytestmark = pytest.mark.anyio

NS = "ns"


def cm(name: str, rv: int, generation: int = 1, value: str = "v") -> ConfigMap:
    meta = ObjectMeta(name=name, namespace=NS, resourceVersion=str(rv), generation=generation)
    return ConfigMap(metadata=meta, data={"value": value})


class ScriptedClient:
    """``list_all`` answers the objects given; the watch relays what the test sends."""

    def __init__(self, *items: ConfigMap, resource_version: int = 10) -> None:
        self.items = list(items)
        self.resource_version = str(resource_version)
        self.send, self._receive = anyio.create_memory_object_stream[WatchEvent[Any]](100)

    async def list_all(self, kind: type[Any], namespace: str | None = None, **_: Any) -> Any:
        return ObjectList(list(self.items), self.resource_version)

    async def watch(self, kind: type[Any], namespace: str | None = None, **_: Any) -> Any:
        async for event in self._receive:
            yield event

    async def deliver(self, kind: str, obj: ConfigMap) -> None:
        assert obj.metadata is not None
        version = obj.metadata.resourceVersion or ""
        self.send.send_nowait(WatchEvent(kind, obj, version))  # type: ignore[arg-type]
        await anyio.wait_all_tasks_blocked()


class Relay:
    """A handler registered without ``own_writes`` (as the event stream is): the watch's
    events only."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str | None]] = []

    def on_add(self, obj: Any, is_initial_list: bool) -> None:
        if not is_initial_list:
            self.events.append(("add", obj.metadata.resourceVersion))

    def on_update(self, old: Any, new: Any) -> None:
        self.events.append(("update", new.metadata.resourceVersion))

    def on_delete(self, obj: Any) -> None:
        self.events.append(("delete", obj.metadata.resourceVersion))


class Queue:
    """A controller's queue, as far as its sources see it."""

    def __init__(self) -> None:
        self.added: list[Request] = []

    def add(self, key: Request, *, low_priority: bool = False) -> None:
        self.added.append(key)


class Process:
    """A cache on the scripted client, a controller's source for ConfigMaps with
    ``GenerationChanged`` (its queue) and a relay."""

    def __init__(self, client: ScriptedClient, cache: Cache) -> None:
        self.client = client
        self.cache = cache
        self.informer = cache.informer_for(ConfigMap)
        self.queue = Queue()
        self.relay = Relay()

    def read(self, name: str) -> ConfigMap | None:
        return self.informer.get(NS, name)

    def version(self, name: str) -> str | None:
        obj = self.read(name)
        return None if obj is None or obj.metadata is None else obj.metadata.resourceVersion

    def queued(self) -> list[str]:
        """The names the controller's source queued since the last call."""
        names, self.queue.added = [key.name for key in self.queue.added], []
        return names


@asynccontextmanager
async def running(
    *items: ConfigMap, controller: bool = True, ttl: float = 30.0
) -> AsyncIterator[Process]:
    clock = FakeClock()
    client = ScriptedClient(*items)
    defaults = InformerOptions(resync_period=None, clock=clock, mutation_ttl=ttl)
    cache = Cache(client, CacheOptions(defaults=defaults))  # type: ignore[arg-type]
    process = Process(client, cache)
    process.clock = clock  # type: ignore[attr-defined]
    process.informer.add_event_handler(process.relay)
    async with anyio.create_task_group() as group:
        if controller:
            source = Kind(cache, ConfigMap, EnqueueRequestForObject(), GenerationChanged())
            await source.start(process.queue, group)
        await group.start(cache.run)
        await anyio.wait_all_tasks_blocked()
        process.queued()  # the initial list's adds
        yield process
        group.cancel_scope.cancel()


async def test_a_write_is_read_at_once_and_never_backwards() -> None:
    async with running(cm("a", 10)) as p:
        assert p.cache.mutation(cm("a", 13, generation=2, value="mine"))
        assert p.version("a") == "13"
        assert (await p.cache.get(ConfigMap, "a", NS)).data == {"value": "mine"}
        # An older change arrives after the write was answered: the read stays on ours.
        await p.client.deliver("MODIFIED", cm("a", 12, value="older"))
        assert p.version("a") == "13"
        await p.client.deliver("MODIFIED", cm("a", 13, generation=2, value="mine"))
        assert p.version("a") == "13"
        # From then on the store is the truth: a later change by someone else shows.
        await p.client.deliver("MODIFIED", cm("a", 14, generation=2, value="theirs"))
        assert p.version("a") == "14"
        # The relay saw only what the watch delivered, in its order.
        assert p.relay.events == [("update", "12"), ("update", "13"), ("update", "14")]


async def test_the_controller_hears_a_spec_write_once_before_the_watch() -> None:
    async with running(cm("a", 10)) as p:
        p.cache.mutation(cm("a", 12, generation=2))
        assert p.queued() == ["a"]
        # The watch then shows that write: already heard, not queued again; an older
        # event is not heard either (a read returns the newer write).
        await p.client.deliver("MODIFIED", cm("a", 11, generation=1, value="older"))
        await p.client.deliver("MODIFIED", cm("a", 12, generation=2))
        assert p.queued() == []
        # A later spec change by someone else is heard as usual.
        await p.client.deliver("MODIFIED", cm("a", 15, generation=3))
        assert p.queued() == ["a"]


async def test_the_controllers_predicates_decide_as_for_the_watch() -> None:
    async with running(cm("a", 10)) as p:
        # Same generation (a label or status-like write): GenerationChanged drops it.
        p.cache.mutation(cm("a", 12, generation=1, value="labels"))
        assert p.queued() == []
        assert p.version("a") == "12"
        # A newer write is heard from the one before it.
        p.cache.mutation(cm("a", 13, generation=2))
        assert p.queued() == ["a"]
        # After a write the watch has not shown yet, a newer change from the watch is
        # heard from that write (generation 2 -> 3).
        await p.client.deliver("MODIFIED", cm("a", 16, generation=3))
        assert p.queued() == ["a"]
        assert p.version("a") == "16"


async def test_a_created_object_is_read_and_heard_as_an_add() -> None:
    async with running() as p:
        assert p.read("new") is None
        p.cache.mutation(cm("new", 11))
        assert p.version("new") == "11"
        assert p.queued() == ["new"]
        await p.client.deliver("ADDED", cm("new", 11))
        assert p.queued() == []
        assert p.relay.events == [("add", "11")]


async def test_a_deletion_after_the_write_is_read_as_gone() -> None:
    async with running(cm("a", 10)) as p:
        p.cache.mutation(cm("a", 12, generation=2))
        p.queued()
        await p.client.deliver("DELETED", cm("a", 14, generation=2))
        assert p.read("a") is None
        assert p.queued() == ["a"]  # a deletion is always heard


async def test_a_deletion_of_an_older_incarnation_does_not_hide_the_new_one() -> None:
    async with running(cm("a", 10)) as p:
        p.cache.mutation(cm("a", 14))  # created again, answered before the watch caught up
        await p.client.deliver("DELETED", cm("a", 12))
        assert p.version("a") == "14"


async def test_an_api_only_process_reads_its_writes_and_queues_nothing() -> None:
    async with running(cm("a", 10), controller=False) as p:
        assert p.cache.mutation(cm("a", 12, generation=2))
        assert p.version("a") == "12"
        assert p.queued() == []


async def test_what_the_informer_has_seen_or_cannot_compare_is_not_kept() -> None:
    async with running(cm("a", 10)) as p:
        assert not p.cache.mutation(cm("a", 9, generation=2))  # the list was at 10
        old = cm("a", 10)
        assert old.metadata is not None
        old.metadata.resourceVersion = "opaque"
        assert not p.cache.mutation(old)
        # Two writes answered out of order: the newer stays.
        assert p.cache.mutation(cm("a", 14, generation=3))
        assert not p.cache.mutation(cm("a", 13, generation=2))
        assert p.version("a") == "14"
        assert p.queued() == ["a"]
        # A kind nobody caches is not kept.
        assert not p.cache.mutation(_other_kind())
        # A bookmark past the write: the store knows better.
        p.client.send.send_nowait(WatchEvent("BOOKMARK", None, "20"))
        await anyio.wait_all_tasks_blocked()
        assert p.version("a") == "10"


async def test_a_write_is_read_for_ttl_seconds_at_most() -> None:
    async with running(cm("a", 10), ttl=5.0) as p:
        p.cache.mutation(cm("a", 12, generation=2))
        p.clock.advance(4.9)  # type: ignore[attr-defined]
        assert p.version("a") == "12"
        p.clock.advance(0.2)  # type: ignore[attr-defined]
        assert p.version("a") == "10"


async def test_reads_of_an_encoded_store_are_private_copies_of_the_write() -> None:
    client = ScriptedClient(cm("a", 10))
    cache = Cache(client, CacheOptions(defaults=InformerOptions(keep_encoded=True)))  # type: ignore[arg-type]
    cache.informer_for(ConfigMap)
    async with anyio.create_task_group() as group:
        await group.start(cache.run)
        written = cm("a", 12, value="mine")
        assert cache.mutation(written)
        first = await cache.get(ConfigMap, "a", NS)
        second = await cache.get(ConfigMap, "a", NS)
        assert first.data == second.data == {"value": "mine"}
        assert first is not second
        assert first is not written
        group.cancel_scope.cancel()


def _other_kind() -> Any:
    from lightkube.models.core_v1 import ServicePort, ServiceSpec
    from lightkube.resources.core_v1 import Service

    meta = ObjectMeta(name="s", namespace=NS, resourceVersion="30")
    return Service(metadata=meta, spec=ServiceSpec(ports=[ServicePort(port=80)]))


# --- the structure alone --------------------------------------------------------------


def keys(n: int) -> Iterator[ObjectKey]:
    return (ObjectKey(NS, f"k{i}") for i in range(n))


def test_observed_drops_entries_from_the_oldest_and_capacity_bounds_them() -> None:
    clock = FakeClock()
    mutations = MutationCache(clock, ttl=10.0, capacity=3)
    for version, key in enumerate(keys(4), start=1):
        mutations.add(key, f"entry {version}", version)
    assert len(mutations) == 3  # k0 went first
    assert mutations.get(ObjectKey(NS, "k0")) is None
    mutations.observed(2)
    assert len(mutations) == 2
    assert mutations.newer_than(ObjectKey(NS, "k2"), 2) == "entry 3"
    assert mutations.newer_than(ObjectKey(NS, "k2"), 3) is None  # and dropped
    assert len(mutations) == 1
    clock.advance(10.0)
    mutations.observed(0)  # expired entries go too
    assert len(mutations) == 0


def test_versions_compare_as_integers() -> None:
    assert integer_version("100") == 100
    assert integer_version("0099") == 99
    assert integer_version("opaque") is None
    assert integer_version(None) is None
