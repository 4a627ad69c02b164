"""The EventRecorder's intake: never blocks, counts every drop, logs drops sparingly.

Writing Events is covered against the real API server in
tests/integration/runtime/test_recorder.py; here the recorder is not running, so its
buffer fills and every further event is dropped.
"""

from __future__ import annotations

import logging
from typing import Any, cast

import pytest

from kubeweft.api import ObjectMeta
from kubeweft.api.v1alpha1 import WebApp, WebAppSpec
from kubeweft.runtime import metrics
from kubeweft.runtime.client import Client
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
    (line,) = [r.getMessage() for r in caplog.records]
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
