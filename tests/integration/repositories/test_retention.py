"""Retention on SQLite and PostgreSQL: every table is pruned by age, in batches.

Each table gets rows on both sides of its cut-off; a pass must delete exactly the old
ones (annotations by their last edit, API keys only once revoked or expired that long),
leave the new ones, and never delete more than ``batch_size`` rows in one statement,
committing between them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from kubeweft.db import tables
from kubeweft.db.engine import Database
from kubeweft.db.records import HistoryRecord, MetricSample, ReconcileRecord
from kubeweft.db.types import utcnow
from kubeweft.repositories import (
    annotations,
    apikeys,
    audit,
    history,
    metrics,
    reconcile_log,
    unit_of_work,
)
from kubeweft.repositories.retention import RetentionJob, RetentionPolicy

pytestmark = pytest.mark.anyio

POLICY = RetentionPolicy(
    metric_samples=timedelta(days=7),
    reconcile_log=timedelta(days=3),
    audit=timedelta(days=30),
    history=timedelta(days=100),
    annotations=timedelta(days=200),
    api_keys=timedelta(days=20),
    batch_size=10,
)


def attempt(uid: str, started_at: datetime) -> ReconcileRecord:
    return ReconcileRecord(uid, "default", "web", "WebApp", started_at, 0.1, "success")


async def count(database: Database, table: type[tables.Base]) -> int:
    async with database.session() as session:
        return int((await session.execute(select(func.count()).select_from(table))).scalar_one())


@contextmanager
def deletes_and_commits(engine: AsyncEngine) -> Iterator[tuple[list[tuple[str, int]], list[int]]]:
    """(table, rows deleted) of every DELETE statement, and a mark per commit."""
    deletes: list[tuple[str, int]] = []
    commits: list[int] = []

    def after(_conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("DELETE FROM"):
            deletes.append((statement.split()[2], cursor.rowcount))

    def on_commit(_conn: Any) -> None:
        commits.append(len(deletes))

    event.listen(engine.sync_engine, "after_cursor_execute", after)
    event.listen(engine.sync_engine, "commit", on_commit)
    try:
        yield deletes, commits
    finally:
        event.remove(engine.sync_engine, "after_cursor_execute", after)
        event.remove(engine.sync_engine, "commit", on_commit)


async def test_every_growing_table_keeps_its_window(database: Database) -> None:
    now = utcnow()
    uid = str(uuid.uuid4())
    async with unit_of_work(database) as session:
        for days in (1, 2, 4, 5, 6):  # 3 older than 3 days
            await reconcile_log.record_attempt(session, attempt(uid, now - timedelta(days=days)))
        for days in (10, 29, 31, 45):  # 2 older than 30 days
            await audit.record_audit(
                session,
                actor="alice",
                verb="patch",
                target_kind="WebApp",
                outcome="allowed",
                ts=now - timedelta(days=days),
            )
        for generation, days in ((1, 200), (2, 101), (3, 99), (4, 0)):  # 2 older than 100
            await history.record_change(
                session,
                HistoryRecord(
                    uid,
                    "default",
                    "web",
                    "WebApp",
                    generation,
                    {"image": "nginx", "replicas": 1},
                    created_at=now - timedelta(days=days),
                ),
            )
        await metrics.record_samples(
            session,
            [
                MetricSample(uid, "ready_replicas", 1.0, now - timedelta(days=8)),
                MetricSample(uid, "ready_replicas", 2.0, now - timedelta(days=1)),
                MetricSample(str(uuid.uuid4()), "ready_replicas", 3.0, now - timedelta(days=9)),
            ],
        )
        for body, created, edited in (
            ("written long ago", 300, None),
            ("written long ago, edited lately", 300, 10),
            ("recent", 1, None),
        ):
            note = await annotations.create_annotation(
                session,
                uid=uid,
                namespace="default",
                name="web",
                kind="WebApp",
                author="alice",
                body=body,
            )
            note.created_at = now - timedelta(days=created)
            note.updated_at = None if edited is None else now - timedelta(days=edited)
        keys = {}
        for label in ("in force", "revoked lately", "revoked long ago", "expired long ago"):
            keys[label] = (await apikeys.create_api_key(session, user="bob"))[0].id
        for label, column, days in (
            ("revoked lately", "revoked_at", 5),
            ("revoked long ago", "revoked_at", 25),
            ("expired long ago", "expires_at", 21),
        ):
            await session.execute(
                update(tables.ApiKey)
                .where(tables.ApiKey.id == keys[label])
                .values({column: now - timedelta(days=days)})
            )
        # In force however old: created a year ago, never revoked, no expiry.
        await session.execute(
            update(tables.ApiKey)
            .where(tables.ApiKey.id == keys["in force"])
            .values(created_at=now - timedelta(days=365))
        )

    deleted = await RetentionJob(database, POLICY).prune_once(now)

    assert deleted == {
        "metric_latest": 1,
        "metric_samples": 2,
        "reconcile_log": 3,
        "api_audit": 2,
        "change_history": 2,
        "annotations": 1,
        "api_keys": 2,
    }
    async with database.session() as session:
        kept_attempts = await reconcile_log.attempts_by_uid(session, uid)
        kept_audit = await audit.audit_by_actor(session, "alice")
        kept_history = await history.history_by_uid(session, uid)
        kept_notes = await annotations.annotations_for(session, uid)
    assert sorted(now - a.started_at for a in kept_attempts) == [
        timedelta(days=1),
        timedelta(days=2),
    ]
    assert sorted(now - a.ts for a in kept_audit) == [timedelta(days=10), timedelta(days=29)]
    assert [h.generation for h in kept_history] == [4, 3]
    assert sorted(n.body for n in kept_notes) == ["recent", "written long ago, edited lately"]
    async with database.session() as session:
        kept_keys = {key.id for key in await apikeys.list_api_keys(session, user="bob")}
    assert kept_keys == {keys["in force"], keys["revoked lately"]}
    assert await count(database, tables.MetricSampleRow) == 1
    assert await count(database, tables.MetricLatest) == 1

    assert await RetentionJob(database, POLICY).prune_once(now) == dict.fromkeys(deleted, 0)


async def test_deletes_in_bounded_batches_committed_one_by_one(database: Database) -> None:
    now = utcnow()
    uid = str(uuid.uuid4())
    async with unit_of_work(database) as session:
        for minute in range(25):
            await reconcile_log.record_attempt(
                session, attempt(uid, now - timedelta(days=4, minutes=minute))
            )
        for minute in range(2):
            await reconcile_log.record_attempt(
                session, attempt(uid, now - timedelta(minutes=minute))
            )

    policy = RetentionPolicy(
        metric_samples=None,
        reconcile_log=timedelta(days=3),
        audit=None,
        history=None,
        annotations=None,
        api_keys=None,
        batch_size=10,
    )
    with deletes_and_commits(database.engine) as (deletes, commits):
        deleted = await RetentionJob(database, policy).prune_once(now)

    assert deleted == {"reconcile_log": 25}
    assert deletes == [("reconcile_log", 10), ("reconcile_log", 10), ("reconcile_log", 5)]
    assert commits == [1, 2, 3]  # one transaction per batch
    assert await count(database, tables.ReconcileLog) == 2


def test_batch_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        RetentionPolicy(batch_size=0)
