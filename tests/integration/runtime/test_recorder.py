"""The EventRecorder writes core/v1 Events on the object and aggregates repeats."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ConfigMap, Event

from kubeweft.localcluster.access import ClusterAccess
from kubeweft.runtime.client import Client
from kubeweft.runtime.recorder import EventRecorder

pytestmark = [pytest.mark.localcluster, pytest.mark.anyio]


@pytest.fixture
async def client(local_cluster: ClusterAccess) -> AsyncIterator[Client]:
    async with Client.from_kubeconfig(local_cluster.kubeconfig_path) as c:
        yield c


async def test_events_are_recorded_on_the_object_and_repeats_aggregated(
    client: Client, namespace: str
) -> None:
    target = await client.create(
        ConfigMap(metadata=ObjectMeta(name="subject", namespace=namespace))
    )
    recorder = EventRecorder(client, "kubeweft-test")
    async with anyio.create_task_group() as group:
        await group.start(recorder.run)
        recorder.event(target, "Normal", "Created", "created the thing")
        recorder.event(target, "Normal", "Created", "created the thing")
        recorder.event(target, "Normal", "Created", "created the thing")
        recorder.event(target, "Warning", "Failed", "it broke")
        with anyio.fail_after(30):
            await recorder.flush()
        group.cancel_scope.cancel()

    events = await client.list(Event, namespace, field_selector="involvedObject.name=subject")
    by_reason = {e.reason: e for e in events.items}
    assert set(by_reason) == {"Created", "Failed"}
    created = by_reason["Created"]
    assert created.count == 3
    assert created.type == "Normal"
    assert created.involvedObject.uid == target.metadata.uid  # type: ignore[union-attr]
    assert created.involvedObject.kind == "ConfigMap"
    assert by_reason["Failed"].type == "Warning"
    assert recorder.dropped == 0


async def test_recording_never_raises_even_for_unsupported_objects(client: Client) -> None:
    recorder = EventRecorder(client, "kubeweft-test", buffer_size=1)
    recorder.event(object(), "Normal", "Odd", "not a Kubernetes object")
    target = ConfigMap(metadata=ObjectMeta(name="x", namespace="default"))
    recorder.event(target, "Normal", "A", "fills the buffer")
    recorder.event(target, "Normal", "B", "dropped: buffer full, recorder not running")
    assert recorder.dropped == 2
