"""SQLite: a pooled connection is rolled back on return only when a transaction is open.

The read model reads on the driver's own connection and gives it back with nothing open;
SQLAlchemy's default reset-on-return sent a rollback to aiosqlite's thread (a hop there
and back) for every such read. A connection returned with a transaction open is still
rolled back, so the next borrower never inherits it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from kubeweft.db.engine import Database
from kubeweft.db.migrate import migrate
from kubeweft.repositories import read_model

pytestmark = pytest.mark.anyio


@pytest.fixture
async def database(tmp_path: Path) -> Any:
    url = f"sqlite+aiosqlite:///{tmp_path / 'reset.db'}"
    await migrate(url)
    db = Database(url, statement_timeout=5.0).connect()
    yield db
    await db.aclose()


async def test_a_read_returns_its_connection_without_a_rollback(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    since = datetime.now(UTC)
    uid = "00000000-0000-0000-0000-000000000001"
    # The engine's first connection is initialised by SQLAlchemy (it rolls that back).
    await read_model.detail_rows(database, uid, since=since, history_limit=5)
    rollbacks: list[object] = []
    original = aiosqlite.Connection.rollback

    async def counted(self: aiosqlite.Connection) -> None:
        rollbacks.append(self)
        await original(self)

    monkeypatch.setattr(aiosqlite.Connection, "rollback", counted)
    for _ in range(3):
        await read_model.detail_rows(database, uid, since=since, history_limit=5)
    assert rollbacks == []


async def test_a_connection_returned_inside_a_transaction_is_rolled_back(
    database: Database,
) -> None:
    async with database.driver_connection() as driver:
        await driver.execute("BEGIN")
        await driver.execute(
            "INSERT INTO metric_latest (uid, name, ts, value) VALUES ('u', 'n', '2026-01-01', 1)"
        )
        assert driver.in_transaction
    async with database.driver_connection() as driver:
        assert not driver.in_transaction
        assert await driver.execute_fetchall("SELECT count(*) FROM metric_latest") == [(0,)]
