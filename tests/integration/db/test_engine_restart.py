"""A PostgreSQL restart costs no request: pooled connections it closed are replaced.

Both ways a read takes a pooled connection are checked: an ORM session, and the
driver's own connection that ``repositories.read_model`` uses. Without a liveness check
on checkout, the first read after the restart gets a connection the server closed.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import anyio
import pytest
from sqlalchemy import text

from kubeweft.db.engine import Database
from kubeweft.db.migrate import migrate
from kubeweft.repositories import read_model
from tests.support.postgres import PostgresServer

pytestmark = pytest.mark.anyio


async def _reads(database: Database, uid: str) -> None:
    async with database.transaction() as session:
        assert (await session.execute(text("SELECT 1"))).scalar() == 1
    rows = await read_model.detail_rows(database, uid, since=datetime.now(UTC), history_limit=5)
    assert rows.history == []


@pytest.mark.postgres
async def test_the_first_reads_after_a_restart_succeed(postgres_server: PostgresServer) -> None:
    url = postgres_server.create_database("restart")
    await migrate(url)
    database = Database(url).connect()
    uid = str(uuid.uuid4())
    try:
        await _reads(database, uid)  # the pool now holds a connection
        assert database.engine.pool.checkedin() >= 1  # type: ignore[attr-defined]
        await anyio.to_thread.run_sync(postgres_server.stop)
        await anyio.to_thread.run_sync(postgres_server.start)
        await _reads(database, uid)
        await _reads(database, uid)
    finally:
        await database.aclose()
        if not postgres_server.running:
            postgres_server.start()
        postgres_server.drop_database(url)
