"""Metric samples on SQLite and PostgreSQL: latest values, aggregates, series, retention."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from kubeweft.db.engine import Database
from kubeweft.db.records import MetricSample
from kubeweft.db.tables import MetricSampleRow
from kubeweft.db.types import utcnow
from kubeweft.repositories import ValidationError, _batch, metrics, unit_of_work
from kubeweft.repositories.retention import RetentionJob, RetentionPolicy

pytestmark = pytest.mark.anyio


@contextmanager
def count_statements(engine: AsyncEngine) -> Iterator[list[str]]:
    statements: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", before)


async def test_latest_metrics_for_a_batch_of_uids_is_one_statement(database: Database) -> None:
    uids = [str(uuid.uuid4()) for _ in range(_batch.IN_BATCH)]
    now = utcnow()
    samples = [
        MetricSample(
            uid=uid, name=name, value=float(i + step), ts=now - timedelta(seconds=30 - step)
        )
        for i, uid in enumerate(uids)
        for name in ("ready_replicas", "desired_replicas")
        for step in range(3)
    ]
    async with unit_of_work(database) as session:
        await metrics.record_samples(session, samples)

    async with database.session() as session:
        with count_statements(database.engine) as statements:
            latest = await metrics.latest_metrics(session, uids)
    assert len(statements) == 1, statements
    assert len(latest) == _batch.IN_BATCH
    for i, uid in enumerate(uids):
        assert set(latest[uid]) == {"ready_replicas", "desired_replicas"}
        assert latest[uid]["ready_replicas"].value == float(i + 2)
        assert latest[uid]["ready_replicas"].ts == now - timedelta(seconds=28)


async def test_latest_never_moves_back_and_unknown_uid_is_empty(database: Database) -> None:
    uid = str(uuid.uuid4())
    now = utcnow()
    async with unit_of_work(database) as session:
        await metrics.record_samples(session, [MetricSample(uid, "ready_replicas", 3.0, now)])
    async with unit_of_work(database) as session:  # a late, older sample
        await metrics.record_samples(
            session, [MetricSample(uid, "ready_replicas", 1.0, now - timedelta(minutes=1))]
        )
    other = str(uuid.uuid4())
    async with database.session() as session:
        latest = await metrics.latest_metrics(session, [uid, other])
    assert latest[uid]["ready_replicas"].value == 3.0
    assert latest[other] == {}


async def test_aggregates_and_series(database: Database) -> None:
    uid = str(uuid.uuid4())
    now = utcnow()
    values = [1.0, 5.0, 3.0]
    async with unit_of_work(database) as session:
        await metrics.record_samples(
            session,
            [
                MetricSample(uid, "ready_replicas", v, now - timedelta(seconds=60 - 10 * i))
                for i, v in enumerate(values)
            ]
            + [MetricSample(uid, "ready_replicas", 100.0, now - timedelta(hours=1))]
            + [MetricSample(uid, "reconcile_seconds", 0.25, now)],
        )
    async with database.session() as session:
        with count_statements(database.engine) as statements:
            agg = await metrics.metric_aggregates(session, uid, now - timedelta(minutes=5))
        series = await metrics.metric_series(session, uid, since=now - timedelta(minutes=5))
    assert len(statements) == 1
    ready = agg["ready_replicas"]
    assert (ready.latest, ready.min, ready.max, ready.count) == (3.0, 1.0, 5.0, 3)
    assert ready.avg == pytest.approx(3.0)
    assert ready.latest_ts == now - timedelta(seconds=40)
    assert agg["reconcile_seconds"].count == 1
    assert [s.value for s in series["ready_replicas"]] == values


async def test_prune_and_retention_job(database: Database) -> None:
    uid, stale_uid = str(uuid.uuid4()), str(uuid.uuid4())
    now = utcnow()
    async with unit_of_work(database) as session:
        await metrics.record_samples(
            session,
            [
                MetricSample(uid, "ready_replicas", 1.0, now - timedelta(days=8)),
                MetricSample(uid, "ready_replicas", 2.0, now),
                MetricSample(stale_uid, "ready_replicas", 9.0, now - timedelta(days=9)),
            ],
        )
    policy = RetentionPolicy(
        metric_samples=timedelta(days=7),
        reconcile_log=None,
        audit=None,
        history=None,
        annotations=None,
        api_keys=None,
    )
    deleted = await RetentionJob(database, policy).prune_once()
    assert deleted == {"metric_latest": 1, "metric_samples": 2}
    async with database.session() as session:
        remaining = (
            await session.execute(select(func.count()).select_from(MetricSampleRow))
        ).scalar()
        latest = await metrics.latest_metrics(session, [uid, stale_uid])
    assert remaining == 1
    assert latest[uid]["ready_replicas"].value == 2.0
    assert latest[stale_uid] == {}


async def test_bad_input_is_rejected(database: Database) -> None:
    async with database.session() as session:
        with pytest.raises(ValidationError) as err:
            await metrics.latest_metrics(session, ["1234"])
        assert err.value.field == "uids"
        with pytest.raises(ValidationError):
            await metrics.record_samples(session, [MetricSample("nope", "x", 1.0)])


async def test_buckets_of_a_window_are_one_statement(database: Database) -> None:
    """A chart's read: the window cut into equal slices, grouped by the database, samples
    outside the window left out (one before it, one at its end)."""
    uid = str(uuid.uuid4())
    until = utcnow().replace(microsecond=0)
    since = until - timedelta(hours=1)
    at = [  # (minutes after since, value)
        (-1, 100.0),
        (0, 1.0),
        (5, 3.0),
        (14.99, 2.0),
        (15, 7.0),
        (59.5, 4.0),
        (60, 100.0),
    ]
    samples = [
        MetricSample(uid=uid, name=name, value=value, ts=since + timedelta(minutes=minutes))
        for minutes, value in at
        for name in ("ready", "cpu")
    ]
    async with unit_of_work(database) as session:
        await metrics.record_samples(session, samples)

    async with database.session() as session:
        with count_statements(database.engine) as statements:
            found = await metrics.metric_buckets(session, uid, since=since, until=until, buckets=4)
    assert len(statements) == 1, statements
    assert set(found) == {"ready", "cpu"}
    assert found["ready"] == [
        metrics.Bucket(0, 1.0, 3.0, 2.0, 3),
        metrics.Bucket(1, 7.0, 7.0, 7.0, 1),
        metrics.Bucket(3, 4.0, 4.0, 4.0, 1),
    ]
    with pytest.raises(ValidationError):
        async with database.session() as session:
            await metrics.metric_buckets(session, uid, since=until, until=since, buckets=4)
