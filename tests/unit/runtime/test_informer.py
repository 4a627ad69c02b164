"""SharedInformer on the in-memory client: the resync period, driven by a fake clock."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ConfigMap

from kubeweft.runtime.clock import FakeClock
from kubeweft.runtime.informer import InformerOptions, SharedInformer
from tests.support.fake_client import FakeClient

pytestmark = pytest.mark.anyio


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def on_add(self, obj: Any, is_initial_list: bool) -> None:
        self.calls.append(("add", obj.metadata.name))

    def on_update(self, old: Any, new: Any) -> None:
        assert old is new  # a resync re-delivers the cached object itself
        self.calls.append(("update", new.metadata.name))

    def on_delete(self, obj: Any) -> None:
        self.calls.append(("delete", obj.metadata.name))


async def test_resync_redelivers_cached_objects_once_per_period_with_jitter() -> None:
    client = FakeClient()
    await client.create(ConfigMap(metadata=ObjectMeta(name="a", namespace="ns")))
    clock = FakeClock()
    informer = SharedInformer(
        client,  # type: ignore[arg-type]
        ConfigMap,
        InformerOptions(namespace="ns", resync_period=100.0, clock=clock),
    )
    recorder = Recorder()
    informer.add_event_handler(recorder)
    async with anyio.create_task_group() as tg:
        await tg.start(informer.run)
        await anyio.wait_all_tasks_blocked()
        assert recorder.calls == [("add", "a")]
        clock.advance(89.0)  # the earliest resync is at 0.9 x the period
        await anyio.wait_all_tasks_blocked()
        assert recorder.calls == [("add", "a")]
        clock.advance(22.0)  # the latest is at 1.1 x
        await anyio.wait_all_tasks_blocked()
        assert recorder.calls == [("add", "a"), ("update", "a")]
        tg.cancel_scope.cancel()


async def test_no_resync_period_means_no_redelivery() -> None:
    client = FakeClient()
    await client.create(ConfigMap(metadata=ObjectMeta(name="a", namespace="ns")))
    clock = FakeClock()
    informer = SharedInformer(
        client,  # type: ignore[arg-type]
        ConfigMap,
        InformerOptions(namespace="ns", resync_period=None, clock=clock),
    )
    recorder = Recorder()
    informer.add_event_handler(recorder)
    async with anyio.create_task_group() as tg:
        await tg.start(informer.run)
        clock.advance(1e9)
        await anyio.wait_all_tasks_blocked()
        assert recorder.calls == [("add", "a")]
        tg.cancel_scope.cancel()
