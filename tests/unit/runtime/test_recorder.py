"""The EventRecorder's intake: never blocks, counts every drop, logs drops sparingly.

Writing Events is covered against the real API server in
tests/integration/runtime/test_recorder.py; here the recorder is not running, so its
buffer fills and every further event is dropped.
"""

from __future__ import annotations

import logging
from typing import Any, cast

import anyio
import pytest
from anyio.abc import TaskStatus

from kubeweft.api import ObjectMeta
from kubeweft.examples.webapp.api.v1 import WebApp, WebAppSpec
from kubeweft.runtime import metrics
from kubeweft.runtime.client import Client
from kubeweft.runtime.manager import Manager
from kubeweft.runtime.recorder import EventRecorder


def webapp(name: str) -> WebApp:
    return WebApp(
        metadata=ObjectMeta(name=name, namespace="default", uid=f"uid-{name}"),
        spec=WebAppSpec(image="nginx"),
    )


def dropped_total() -> float:
    return metrics.REGISTRY.get_sample_value("kubeweft_events_dropped_total") or 0.0


def test_a_burst_of_drops_is_counted_each_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    unused = cast(Client, cast(Any, None))  # never called: the recorder is not running
    recorder = EventRecorder(unused, "kubeweft-test", buffer_size=4, workers=1)
    before = dropped_total()
    with caplog.at_level(logging.WARNING, logger="kubeweft.runtime.recorder"):
        for i in range(104):
            recorder.event(webapp("burst"), "Normal", "Created", f"event {i}")
    assert recorder.dropped == 100
    assert dropped_total() - before == 100
    (line,) = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert "dropped 1 event(s)" in line
    assert "event 4" in line


def test_one_object_fills_only_its_own_shard() -> None:
    unused = cast(Client, cast(Any, None))
    recorder = EventRecorder(unused, "kubeweft-test", buffer_size=8, workers=4)
    for i in range(10):
        recorder.event(webapp("busy"), "Normal", "Scaled", f"scaled {i}")
    assert recorder.dropped == 8  # its shard holds 8 // 4 = 2
    others = [webapp(f"quiet-{i}") for i in range(200)]  # every shard is hit
    accepted = 0
    for app in others:
        before = recorder.dropped
        recorder.event(app, "Normal", "Created", "created")
        accepted += recorder.dropped == before
    # The busy object's shard is full; the other three shards still take events.
    assert accepted == 6


def not_running_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "is not running" in r.getMessage()]


def test_an_event_to_a_recorder_that_is_not_running_warns_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    unused = cast(Client, cast(Any, None))
    recorder = EventRecorder(unused, "kubeweft-forgotten")
    with caplog.at_level(logging.WARNING, logger="kubeweft.runtime.recorder"):
        for i in range(3):
            recorder.event(webapp("idle"), "Normal", "Created", f"event {i}")
    (line,) = not_running_warnings(caplog)
    assert "'kubeweft-forgotten'" in line
    assert "Manager.event_recorder()" in line
    assert recorder.dropped == 0  # still buffered: written if it is started later


class SyncedCache:
    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        await anyio.sleep_forever()

    def has_synced(self) -> bool:
        return True


@pytest.mark.anyio
async def test_the_managers_recorder_runs_with_the_manager_before_its_controllers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    manager = Manager(None, SyncedCache())
    seen_running: list[bool] = []
    recorder = manager.event_recorder("kubeweft-owned")

    class Controller:
        async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
            seen_running.append(recorder._running)
            task_status.started()
            await anyio.sleep_forever()

    manager.add(Controller())
    assert manager.event_recorder("kubeweft-owned") is recorder  # one per component
    with caplog.at_level(logging.WARNING, logger="kubeweft.runtime.recorder"):
        async with anyio.create_task_group() as group:
            await group.start(manager.run)
            await anyio.wait_all_tasks_blocked()
            assert seen_running == [True]
            recorder.event(webapp("run"), "Normal", "Created", "while running")
            group.cancel_scope.cancel()
    assert not_running_warnings(caplog) == []
    assert not recorder._running
