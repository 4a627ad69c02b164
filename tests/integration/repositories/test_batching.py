"""Lookups by many UIDs on SQLite and PostgreSQL: more UIDs than one statement may bind.

SQLite (since 3.32) binds at most 32,766 parameters per statement and asyncpg 32,767;
a lookup by 33,000 UIDs failed on both before the repositories split it. Some
distributions build SQLite with a higher limit, so the SQLite connection is set back to
the upstream default first.
"""

from __future__ import annotations

import math
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from kubeweft.db.engine import Database
from kubeweft.db.records import HistoryRecord, MetricSample
from kubeweft.db.types import utcnow
from kubeweft.repositories import _batch, history, metrics, unit_of_work

pytestmark = pytest.mark.anyio

MANY = 33_000  # past both databases' parameter limits


@contextmanager
def statements_with_params(engine: AsyncEngine) -> Iterator[list[int]]:
    """How many parameters each statement sent bound."""
    counts: list[int] = []

    def before(_conn: Any, _cursor: Any, _statement: str, params: Any, *_args: Any) -> None:
        counts.append(len(params))

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    try:
        yield counts
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", before)


async def upstream_parameter_limit(session: AsyncSession) -> None:
    """On SQLite, bind at most 32,766 parameters per statement, as upstream builds do."""
    connection = await session.connection()
    if connection.dialect.name != "sqlite":
        return
    driver: Any = (await connection.get_raw_connection()).driver_connection  # aiosqlite
    limit = sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER
    await driver._execute(driver._conn.setlimit, limit, 32_766)
    assert await driver._execute(driver._conn.getlimit, limit) == 32_766


def _uids() -> list[str]:
    return [str(uuid.UUID(int=i + 1)) for i in range(MANY)]


async def test_latest_metrics_for_more_uids_than_a_statement_can_bind(database: Database) -> None:
    uids = _uids()
    now = utcnow()
    # Samples for every 97th UID and for those on either side of each batch boundary.
    edges = {i for b in range(_batch.IN_BATCH, MANY, _batch.IN_BATCH) for i in (b - 1, b)}
    reporting = sorted(set(range(0, MANY, 97)) | edges | {MANY - 1})
    samples = [
        MetricSample(uids[i], "ready_replicas", float(i), now - timedelta(seconds=step))
        for i in reporting
        for step in (1, 0)
    ]
    async with unit_of_work(database) as session:
        await metrics.record_samples(session, samples)

    async with database.session() as session:
        await upstream_parameter_limit(session)
        with statements_with_params(database.engine) as sent:
            latest = await metrics.latest_metrics(session, uids)

    assert len(sent) == math.ceil(MANY / _batch.IN_BATCH)
    assert max(sent) <= _batch.IN_BATCH
    assert list(latest) == uids
    with_values = {uid for uid, values in latest.items() if values}
    assert with_values == {uids[i] for i in reporting}
    for i in reporting:
        newest = latest[uids[i]]["ready_replicas"]
        assert (newest.value, newest.ts) == (float(i), now)


async def test_history_for_more_uids_than_a_statement_can_bind(database: Database) -> None:
    uids = _uids()
    changed = sorted({0, _batch.IN_BATCH - 1, _batch.IN_BATCH, MANY // 2, MANY - 1})
    async with unit_of_work(database) as session:
        for i in changed:
            for generation in (1, 2, 3):
                await history.record_change(
                    session,
                    HistoryRecord(
                        uid=uids[i],
                        namespace="default",
                        name=f"web-{i}",
                        kind="WebApp",
                        generation=generation,
                        spec={"image": f"nginx:{generation}", "replicas": generation},
                    ),
                )

    async with database.session() as session:
        await upstream_parameter_limit(session)
        with statements_with_params(database.engine) as sent:
            rows = await history.history_for(session, uids, limit_per_uid=2)

    assert max(sent) <= _batch.IN_BATCH + 1  # the UIDs and the rank bound
    assert list(rows) == uids
    assert {uid for uid, found in rows.items() if found} == {uids[i] for i in changed}
    for i in changed:
        assert [r.generation for r in rows[uids[i]]] == [3, 2]
