"""Sources: informer callbacks through predicates to the queue; channels."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ConfigMap

from kubeweft.runtime.predicate import GenerationChanged
from kubeweft.runtime.reconcile import Request
from kubeweft.runtime.source import Channel, Kind
from kubeweft.runtime.workqueue import RateLimitingQueue

pytestmark = pytest.mark.anyio


class FakeInformer:
    def __init__(self) -> None:
        self.handlers: list[Any] = []
        self.own_writes: list[Any] = []
        self.synced = anyio.Event()

    def add_event_handler(self, handler: Any, *, own_writes: bool = False) -> None:
        self.handlers.append(handler)
        if own_writes:
            self.own_writes.append(handler)

    async def wait_for_sync(self) -> None:
        await self.synced.wait()


class FakeCache:
    def __init__(self) -> None:
        self.informers: dict[type[Any], FakeInformer] = {}

    def informer_for(self, kind: type[Any]) -> FakeInformer:
        return self.informers.setdefault(kind, FakeInformer())


def cm(name: str, generation: int) -> ConfigMap:
    return ConfigMap(metadata=ObjectMeta(name=name, namespace="ns", generation=generation))


async def test_kind_registers_on_the_informer_and_applies_predicates() -> None:
    cache = FakeCache()
    queue: RateLimitingQueue[Request] = RateLimitingQueue()
    source = Kind(cache, ConfigMap, None, GenerationChanged())
    async with anyio.create_task_group() as tg:
        await source.start(queue, tg)
    (callbacks,) = cache.informers[ConfigMap].handlers
    # A controller hears of this process's own writes before the watch shows them.
    assert cache.informers[ConfigMap].own_writes == [callbacks]
    callbacks.on_add(cm("initial", 1), True)
    callbacks.on_add(cm("new", 1), False)
    callbacks.on_update(cm("same-gen", 1), cm("same-gen", 1))
    callbacks.on_update(cm("spec", 1), cm("spec", 2))
    callbacks.on_delete(cm("gone", 3))
    assert [(await queue.get()).name for _ in range(len(queue))] == [
        "new",
        "spec",
        "gone",
        "initial",
    ]


async def test_kind_waits_for_its_informer_to_sync() -> None:
    cache = FakeCache()
    source = Kind(cache, ConfigMap)
    queue: RateLimitingQueue[Request] = RateLimitingQueue()
    synced = False
    async with anyio.create_task_group() as tg:
        await source.start(queue, tg)

        async def wait() -> None:
            nonlocal synced
            await source.wait_for_sync()
            synced = True

        tg.start_soon(wait)
        await anyio.wait_all_tasks_blocked()
        assert not synced
        cache.informers[ConfigMap].synced.set()
    assert synced


async def test_channel_delivers_generic_events() -> None:
    send, receive = anyio.create_memory_object_stream[Any](10)
    queue: RateLimitingQueue[Request] = RateLimitingQueue()
    async with anyio.create_task_group() as tg:
        await Channel(receive).start(queue, tg)
        async with send:
            await send.send(cm("from-webhook", 1))
    assert await queue.get() == Request("ns", "from-webhook")
