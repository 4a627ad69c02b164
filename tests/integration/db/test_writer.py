"""RecordWriter against real databases: batching, idempotence, bound, and a PostgreSQL outage."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import anyio
import pytest
from sqlalchemy import func, select

from kubeweft.db.engine import Database
from kubeweft.db.records import HistoryRecord, MetricSample, ReconcileRecord, Record
from kubeweft.db.tables import ChangeHistory, MetricSampleRow, ReconcileLog
from kubeweft.db.types import utcnow
from kubeweft.db.writer import RecordWriter
from kubeweft.runtime.metrics import RECORDS_DROPPED, RECORDS_WRITTEN
from tests.support.postgres import POSTGRESQL_ONLY, PostgresServer

pytestmark = pytest.mark.anyio


def history(uid: str, generation: int) -> HistoryRecord:
    return HistoryRecord(
        uid=uid,
        namespace="default",
        name=f"web-{uid[:8]}",
        kind="WebApp",
        generation=generation,
        spec={"image": f"nginx:{generation}", "replicas": 1},
        actor="alice",
        source="api",
    )


def attempt(uid: str) -> ReconcileRecord:
    return ReconcileRecord(
        uid=uid,
        namespace="default",
        name="web",
        kind="WebApp",
        started_at=utcnow(),
        duration_s=0.01,
        outcome="success",
        actions=("patch Deployment",),
    )


def workload(uids: Sequence[str], generations: int) -> list[Record]:
    out: list[Record] = []
    for uid in uids:
        for generation in range(1, generations + 1):
            out += [
                history(uid, generation),
                attempt(uid),
                MetricSample(uid, "ready_replicas", 1.0),
            ]
    return out


async def counts(database: Database) -> tuple[int, int, int]:
    async with database.session() as session:
        result = []
        for table in (ChangeHistory, ReconcileLog, MetricSampleRow):
            stmt = select(func.count()).select_from(table)
            result.append((await session.execute(stmt)).scalar_one())
    return result[0], result[1], result[2]


async def test_writes_everything_batched_and_unbatched(database: Database) -> None:
    uids = [str(uuid.uuid4()) for _ in range(10)]
    for batching in (True, False):
        writer = RecordWriter(database, batching=batching, batch_size=7)
        written_before = RECORDS_WRITTEN._value.get()
        async with anyio.create_task_group() as tg:
            await tg.start(writer.run)
            for record in workload(uids, 3):
                writer.submit(record)
            assert await writer.flush(60)
            tg.cancel_scope.cancel()
        assert writer.written == 90
        assert RECORDS_WRITTEN._value.get() - written_before == 90
    # The second pass re-submitted every history row: still one per (uid, generation).
    assert await counts(database) == (30, 60, 60)


async def test_history_exactly_once_across_retries_and_two_writers(database: Database) -> None:
    uid = str(uuid.uuid4())
    first, second = RecordWriter(database), RecordWriter(database, batching=False)
    async with anyio.create_task_group() as tg:
        await tg.start(first.run)
        await tg.start(second.run)
        for generation in (1, 2, 2, 3, 1):
            first.submit(history(uid, generation))
            second.submit(history(uid, generation))
        assert await first.flush(60)
        assert await second.flush(60)
        tg.cancel_scope.cancel()
    async with database.session() as session:
        rows = (await session.scalars(select(ChangeHistory.generation))).all()
    assert sorted(rows) == [1, 2, 3]


async def test_past_the_bound_the_oldest_are_dropped_and_counted(database: Database) -> None:
    uid = str(uuid.uuid4())
    writer = RecordWriter(database, buffer_size=3)
    dropped_before = RECORDS_DROPPED._value.get()
    for generation in range(1, 6):  # not running yet: everything waits in the buffer
        writer.submit(history(uid, generation))
    assert (writer.pending, writer.dropped) == (3, 2)
    assert RECORDS_DROPPED._value.get() - dropped_before == 2
    async with anyio.create_task_group() as tg:
        await tg.start(writer.run)
        assert await writer.flush(60)
        tg.cancel_scope.cancel()
    async with database.session() as session:
        rows = (await session.scalars(select(ChangeHistory.generation))).all()
    assert sorted(rows) == [3, 4, 5]


@POSTGRESQL_ONLY  # SQLite does not enforce VARCHAR lengths, so it refuses nothing here
async def test_a_record_the_database_refuses_is_dropped_alone(database: Database) -> None:
    uid = str(uuid.uuid4())
    writer = RecordWriter(database)
    writer.submit(history(uid, 1))
    writer.submit(MetricSample(uid, "x" * 200, 1.0))  # longer than the column allows
    writer.submit(history(uid, 2))
    async with anyio.create_task_group() as tg:
        await tg.start(writer.run)
        assert await writer.flush(60)
        tg.cancel_scope.cancel()
    assert (writer.written, writer.dropped) == (2, 1)
    assert (await counts(database))[0] == 2


@POSTGRESQL_ONLY  # an outage is a server going away
async def test_postgres_outage_records_wait_and_are_written_once(
    database: Database, postgres_server: PostgresServer
) -> None:
    uids = [str(uuid.uuid4()) for _ in range(20)]
    writer = RecordWriter(database, batch_size=16, max_backoff_s=0.5)
    async with anyio.create_task_group() as tg:
        await tg.start(writer.run)
        writer.submit(history(uids[0], 1))
        assert await writer.flush(60)  # the database is up: written at once

        await anyio.to_thread.run_sync(postgres_server.stop)
        records = workload(uids, 3)
        for record in records:  # the reconciler's side: plain calls, no await, no error
            assert writer.submit(record) is None  # type: ignore[func-returns-value]
        assert not await writer.flush(1.0)  # nothing can be written while it is down
        assert writer.pending == len(records)

        await anyio.to_thread.run_sync(postgres_server.start)
        assert await writer.flush(120)
        tg.cancel_scope.cancel()
    assert writer.failures >= 1
    assert writer.dropped == 0
    # 60 history rows (the (uids[0], 1) row was already there), 60 attempts, 60 samples.
    assert await counts(database) == (60, 60, 60)
