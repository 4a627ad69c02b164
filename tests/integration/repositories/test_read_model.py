"""The detail read model on SQLite and PostgreSQL: one statement gives what the four
repository reads give, and its metric part reads only the window of the series."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event

from kubeweft.db.engine import Database
from kubeweft.db.records import HistoryRecord, MetricSample, ReconcileRecord
from kubeweft.db.types import utcnow
from kubeweft.repositories import (
    annotations,
    history,
    metrics,
    read_model,
    reconcile_log,
    unit_of_work,
)

pytestmark = pytest.mark.anyio


async def _seed(database: Database, uid: str) -> None:
    now = utcnow()
    async with unit_of_work(database) as session:
        await history.record_change(
            session,
            HistoryRecord(uid, "ns", "app", "WebApp", 1, {"image": "a"}, "alice", "api", now),
        )
        for generation in range(2, 14):
            await history.record_change(
                session,
                HistoryRecord(
                    uid,
                    "ns",
                    "app",
                    "WebApp",
                    generation,
                    {"image": f"v{generation}"},
                    None,
                    "reconciler",
                    now,
                ),
            )
        await metrics.record_samples(
            session,
            [
                MetricSample(uid, "ready_replicas", v, now - timedelta(seconds=60 - 10 * i))
                for i, v in enumerate([1.0, 5.0, 3.0])
            ]
            # Outside the window: neither counted nor the latest.
            + [MetricSample(uid, "ready_replicas", 100.0, now - timedelta(hours=1))]
            + [MetricSample(uid, "stale", 7.0, now - timedelta(hours=2))]
            + [MetricSample(uid, "reconcile_seconds", 0.25, now)],
        )
        for body in ("first", "second"):
            await annotations.create_annotation(
                session, uid=uid, namespace="ns", name="app", kind="WebApp", author="bob", body=body
            )
        for i, outcome in enumerate(["success", "error", "success", "error", "requeue"]):
            await reconcile_log.record_attempt(
                session,
                ReconcileRecord(
                    uid, "ns", "app", "WebApp", now - timedelta(seconds=i), 0.1, outcome
                ),
            )
        await reconcile_log.record_attempt(
            session,
            ReconcileRecord(uid, "ns", "app", "WebApp", now - timedelta(hours=1), 0.1, "error"),
        )


async def test_detail_rows_match_the_repository_reads(database: Database) -> None:
    uid, other = str(uuid.uuid4()), str(uuid.uuid4())
    await _seed(database, uid)
    await _seed(database, other)  # another resource's rows never leak in
    since = utcnow() - timedelta(minutes=5)

    rows = await read_model.detail_rows(database, uid, since=since, history_limit=10)

    async with database.session() as session:
        want_history = await history.history_by_uid(session, uid, limit=10)
        want_metrics = await metrics.metric_aggregates(session, uid, since)
        want_notes = await annotations.annotations_for(session, uid)
    assert [
        (h.generation, h.spec, h.patch, h.actor, h.source, h.created_at) for h in rows.history
    ] == [(h.generation, h.spec, h.patch, h.actor, h.source, h.created_at) for h in want_history]
    assert [h.generation for h in rows.history] == list(range(13, 3, -1))
    assert rows.history[0].patch == [{"op": "replace", "path": "/image", "value": "v13"}]
    assert set(rows.metrics) == set(want_metrics) == {"ready_replicas", "reconcile_seconds"}
    for name, want in want_metrics.items():
        got = rows.metrics[name]
        assert (got.latest, got.min, got.max, got.count, got.latest_at) == (
            want.latest,
            want.min,
            want.max,
            want.count,
            want.latest_ts,
        )
        assert got.avg == pytest.approx(want.avg)
    ready = rows.metrics["ready_replicas"]
    assert (ready.latest, ready.min, ready.max, ready.count) == (3.0, 1.0, 5.0, 3)
    assert [(a.id, a.body, a.created_at) for a in rows.annotations] == [
        (a.id, a.body, a.created_at) for a in want_notes
    ]
    assert [a.body for a in rows.annotations] == ["second", "first"]
    assert (rows.attempts, rows.failures) == (5, 2)


async def test_detail_rows_of_an_unknown_uid_are_empty(database: Database) -> None:
    rows = await read_model.detail_rows(
        database, str(uuid.uuid4()), since=utcnow(), history_limit=10
    )
    assert rows == read_model.DetailRows([], {}, [], 0, 0)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_metric_part_reads_an_index_range_bounded_by_time(database: Database) -> None:
    """SQLite's plan: the samples are searched by (uid, name, ts>?), not by the UID alone
    (which read a resource's whole retained series for every detail)."""
    async with database.engine.connect() as conn:
        plan = (
            await conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + read_model.STATEMENTS["sqlite"],
                {
                    "uid": "u",
                    "since": "2026-01-01 00:00:00.000000",
                    "history_limit": 10,
                    "annotation_limit": 10,
                    "attempt_limit": 10,
                },
            )
        ).all()
    searches = [str(row[-1]) for row in plan if "metric_samples" in str(row[-1])]
    assert searches, plan
    for search in searches:
        assert "ix_metric_samples_uid_name_ts (uid=? AND name=? AND ts>?)" in search, searches
    await _check_orm_aggregate_plan(database)


async def _check_orm_aggregate_plan(database: Database) -> None:
    sent: list[tuple[str, Any]] = []

    def before(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    event.listen(database.engine.sync_engine, "before_cursor_execute", before)
    try:
        async with database.session() as session:
            await metrics.metric_aggregates(session, str(uuid.uuid4()), utcnow())
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", before)
    [(statement, parameters)] = sent
    async with database.engine.connect() as conn:
        plan = (await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)).all()
    searches = [str(row[-1]) for row in plan if "metric_samples" in str(row[-1])]
    assert searches, plan
    for search in searches:
        assert "ix_metric_samples_uid_name_ts (uid=? AND name=? AND ts>?)" in search, searches


async def test_latest_samples_match_the_repository_read(database: Database) -> None:
    uids = [str(uuid.uuid4()) for _ in range(3)]
    now = utcnow()
    async with unit_of_work(database) as session:
        await metrics.record_samples(
            session,
            [
                MetricSample(uid, name, float(n), now - timedelta(seconds=n))
                for n, uid in enumerate(uids[:2])
                for name in ("cpu", "ready_replicas")
            ]
            + [MetricSample(uids[0], "cpu", 9.0, now - timedelta(hours=1))],  # older: not latest
        )
        want = await metrics.latest_metrics(session, uids)

    rows = await read_model.latest_sample_rows(database, uids)
    got = {uid: read_model.decode_samples(found) for uid, found in rows.items()}

    assert got == {
        uid: {name: (s.value, s.ts) for name, s in samples.items()} for uid, samples in want.items()
    }
    assert got[uids[0]]["cpu"] == (0.0, now)
    assert got[uids[2]] == {}
    # Each UID's rows in name order, so equal samples are equal rows.
    assert [row[1] for row in rows[uids[0]]] == ["cpu", "ready_replicas"]
    assert rows == await read_model.latest_sample_rows(database, reversed(uids))


async def test_latest_samples_of_a_large_page_are_one_statement(database: Database) -> None:
    # More UIDs than SQLite's historical limit of 999 bound parameters per statement.
    uids = [str(uuid.uuid4()) for _ in range(2000)]
    now = utcnow()
    async with unit_of_work(database) as session:
        await metrics.record_samples(session, [MetricSample(uid, "cpu", 1.0, now) for uid in uids])
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", count)
    try:
        rows = await read_model.latest_sample_rows(database, [*uids, uids[0]])
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", count)
    assert len(statements) == 1, statements
    got = {uid: read_model.decode_samples(found) for uid, found in rows.items()}
    assert got == {uid: {"cpu": (1.0, now)} for uid in uids}
