"""The framework's records: one reconcile-log record per reconcile of an existing object
and one history record per generation, for a reconciler that contains no database code
(only, optionally, the actions it reports)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kubeweft.api.changes import CHANGED_BY_ANNOTATION, changed_by_value
from kubeweft.controllerutil.reconcile_log import (
    LoggedReconciler,
    LoggedReconcilerOptions,
    current_attempt,
)
from kubeweft.db.records import HistoryRecord, MetricSample, ReconcileRecord, Record
from kubeweft.runtime import errors
from kubeweft.runtime.reconcile import Request, Result
from tests.support.fake_client import FakeClient
from tests.support.models import CronTab, crontab

pytestmark = pytest.mark.anyio

REQUEST = Request("default", "nightly")


class Sink:
    def __init__(self) -> None:
        self.records: list[Record] = []

    def submit(self, record: Record) -> None:
        self.records.append(record)


class Scripted:
    """Answers what it is told to; reports an action when given one."""

    def __init__(self) -> None:
        self.result: Result | Exception = Result()
        self.action: str | None = None
        self.wait: str | None = None

    async def reconcile(self, request: Request) -> Result:
        if self.action:
            current_attempt().actions.append(self.action)
        if self.wait:
            current_attempt().requeue(self.wait)
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


@pytest.fixture
def cluster() -> FakeClient:
    cluster = FakeClient()
    cluster.put(CronTab.model_validate(crontab("nightly", "default")))
    cluster.edit("CronTab", "nightly", lambda d: d["metadata"].update(uid="ct-uid", generation=3))
    return cluster


def logged(cluster: FakeClient) -> tuple[LoggedReconciler, Scripted, Sink]:
    inner, sink = Scripted(), Sink()
    return LoggedReconciler(inner, CronTab, cluster, sink), inner, sink


def attempts(sink: Sink) -> list[ReconcileRecord]:
    return [r for r in sink.records if isinstance(r, ReconcileRecord)]


async def test_each_outcome_is_logged_with_the_object_it_was_about(cluster: FakeClient) -> None:
    reconciler, inner, sink = logged(cluster)

    assert await reconciler.reconcile(REQUEST) == Result()
    inner.result, inner.action = Result(requeue=True), "waited"
    assert await reconciler.reconcile(REQUEST) == Result(requeue=True)
    inner.result, inner.action = errors.ServerError(500, "InternalError", "etcd down"), None
    with pytest.raises(errors.ServerError):
        await reconciler.reconcile(REQUEST)

    logs = attempts(sink)
    assert [(r.outcome, r.actions, r.error) for r in logs] == [
        ("success", (), None),
        ("requeue", ("waited",), None),
        ("error", (), "ServerError: 500 InternalError: etcd down"),
    ]
    assert {(r.uid, r.namespace, r.name, r.kind, r.generation) for r in logs} == {
        ("ct-uid", "default", "nightly", "CronTab", 3)
    }
    assert all(r.duration_s >= 0 and r.resource_version for r in logs)


async def test_a_reported_wait_is_a_requeue_with_its_reason(cluster: FakeClient) -> None:
    reconciler, inner, sink = logged(cluster)
    inner.result, inner.wait = Result(requeue_after=30.0), "blocked: not ours"

    await reconciler.reconcile(REQUEST)

    ((outcome, error),) = [(r.outcome, r.error) for r in attempts(sink)]
    assert (outcome, error) == ("requeue", "blocked: not ours")


async def test_actions_do_not_leak_into_the_next_attempt(cluster: FakeClient) -> None:
    reconciler, inner, sink = logged(cluster)
    inner.action = "created Job"
    await reconciler.reconcile(REQUEST)
    inner.action = None
    await reconciler.reconcile(REQUEST)

    assert [r.actions for r in attempts(sink)] == [("created Job",), ()]


async def test_a_missing_object_is_not_logged(cluster: FakeClient) -> None:
    reconciler, _, sink = logged(cluster)
    assert await reconciler.reconcile(Request("default", "gone")) == Result()
    assert sink.records == []


async def test_a_refusing_sink_never_fails_the_reconcile(cluster: FakeClient) -> None:
    class Refusing:
        def submit(self, record: Record) -> None:
            raise RuntimeError("buffer closed")

    reconciler = LoggedReconciler(Scripted(), CronTab, cluster, Refusing())
    assert await reconciler.reconcile(REQUEST) == Result()


async def test_outside_the_framework_reports_go_nowhere() -> None:
    current_attempt().actions.append("dropped")
    assert current_attempt().actions == []


class Clock:
    """A wall clock the test moves."""

    def __init__(self) -> None:
        self.moment = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.moment


class Sampling:
    """Reports ``value`` as the metric ``active`` on each reconcile."""

    def __init__(self) -> None:
        self.value = 1.0

    async def reconcile(self, request: Request) -> Result:
        current_attempt().sample("active", self.value)
        return Result()


def samples(sink: Sink) -> list[tuple[str, float, datetime]]:
    return [(r.name, r.value, r.ts) for r in sink.records if isinstance(r, MetricSample)]


async def test_samples_are_written_when_they_change_and_at_the_heartbeat(
    cluster: FakeClient,
) -> None:
    clock, inner, sink = Clock(), Sampling(), Sink()
    options = LoggedReconcilerOptions(now=clock, sample_heartbeat=timedelta(minutes=4))
    reconciler = LoggedReconciler(inner, CronTab, cluster, sink, options)
    start = clock.moment

    for minute, value in [(0, 1.0), (1, 1.0), (2, 2.0), (3, 2.0), (5, 2.0), (6, 2.0), (9, 2.0)]:
        clock.moment, inner.value = start + timedelta(minutes=minute), value
        await reconciler.reconcile(REQUEST)

    # Seven reconciles: the first value, the change at 2, the heartbeats at 6 (4 min after
    # the last write) and not at 9 (3 min after it).
    assert samples(sink) == [
        ("active", 1.0, start),
        ("active", 2.0, start + timedelta(minutes=2)),
        ("active", 2.0, start + timedelta(minutes=6)),
    ]
    assert {r.uid for r in sink.records if isinstance(r, MetricSample)} == {"ct-uid"}


async def test_a_deleted_object_is_forgotten_and_a_new_one_sampled_afresh(
    cluster: FakeClient,
) -> None:
    inner, sink = Sampling(), Sink()
    reconciler = LoggedReconciler(inner, CronTab, cluster, sink)
    await reconciler.reconcile(REQUEST)
    await cluster.delete(CronTab, "nightly", "default")
    await reconciler.reconcile(REQUEST)  # gone: nothing to sample, memory dropped
    cluster.put(CronTab.model_validate(crontab("nightly", "default")))
    cluster.edit("CronTab", "nightly", lambda d: d["metadata"].update(uid="new-uid"))
    await reconciler.reconcile(REQUEST)

    uids = [r.uid for r in sink.records if isinstance(r, MetricSample)]
    assert uids == ["ct-uid", "new-uid"]
    assert reconciler._uids == {REQUEST: "new-uid"}


def changes(sink: Sink) -> list[HistoryRecord]:
    return [r for r in sink.records if isinstance(r, HistoryRecord)]


async def test_each_generation_is_recorded_once_after_its_first_success(
    cluster: FakeClient,
) -> None:
    reconciler, inner, sink = logged(cluster)
    inner.result = Result(requeue=True)
    await reconciler.reconcile(REQUEST)  # not done yet: no history
    inner.result = Result()
    await reconciler.reconcile(REQUEST)
    await reconciler.reconcile(REQUEST)  # the same generation again: nothing new

    (record,) = changes(sink)
    assert (record.uid, record.kind, record.generation, record.actor) == (
        "ct-uid",
        "CronTab",
        3,
        None,
    )
    assert record.spec["schedule"]["cron"] == "*/5 * * * *"
    assert record.spec["historyLimit"] == 3  # the wire form: camelCase, defaults applied


async def test_the_actor_is_the_user_whose_stamp_matches_the_spec(cluster: FakeClient) -> None:
    reconciler, _, sink = logged(cluster)
    obj = await cluster.get(CronTab, "nightly", "default")
    wire = obj.spec.model_dump(mode="json", by_alias=True, exclude_none=True)

    def stamp(data: dict[str, Any]) -> None:
        data["metadata"]["annotations"] = {CHANGED_BY_ANNOTATION: changed_by_value("alice", wire)}

    cluster.edit("CronTab", "nightly", stamp)
    await reconciler.reconcile(REQUEST)

    assert [(r.actor, r.rolled_back_to) for r in changes(sink)] == [("alice", None)]


async def test_a_rollback_stamp_is_recorded_with_its_target_generation(
    cluster: FakeClient,
) -> None:
    reconciler, _, sink = logged(cluster)
    obj = await cluster.get(CronTab, "nightly", "default")
    wire = obj.spec.model_dump(mode="json", by_alias=True, exclude_none=True)
    value = changed_by_value("alice", wire, rolled_back_to=1)
    cluster.edit(
        "CronTab",
        "nightly",
        lambda data: data["metadata"].update(annotations={CHANGED_BY_ANNOTATION: value}),
    )
    await reconciler.reconcile(REQUEST)

    assert [(r.generation, r.actor, r.rolled_back_to) for r in changes(sink)] == [(3, "alice", 1)]


async def test_a_failed_reconcile_records_no_history(cluster: FakeClient) -> None:
    reconciler, inner, sink = logged(cluster)
    inner.result = errors.ServerError(500, "InternalError", "etcd down")
    with pytest.raises(errors.ServerError):
        await reconciler.reconcile(REQUEST)
    assert changes(sink) == []
