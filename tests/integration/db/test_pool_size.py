"""``Database(pool_size=N)`` on PostgreSQL: each of its two pools holds at most N
connections and keeps them.

The engine's pool (ORM sessions, writes) and the read model's asyncpg pool
(``Database.driver_connection``) each lend at most N connections with no overflow: the
N+1th borrower waits and, past the statement timeout, gets ``TimeoutError`` (a 503 for
a request). A returned connection is lent again, not closed: the next read is served
by the same server backend, with its prepared statements.
"""

from __future__ import annotations

from contextlib import AsyncExitStack

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import text

from kubeweft.db.engine import Database, is_timeout
from tests.support.postgres import PostgresServer

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]

TIMEOUT = 0.5


async def test_the_read_pool_lends_at_most_pool_size_and_keeps_them(
    postgres_server: PostgresServer,
) -> None:
    url = postgres_server.create_database("read_pool")
    database = Database(url, statement_timeout=TIMEOUT, pool_size=2).connect()
    try:
        async with AsyncExitStack() as held:
            pids = {
                (await held.enter_async_context(database.driver_connection())).get_server_pid()
                for _ in range(2)
            }
            assert len(pids) == 2
            with pytest.raises(TimeoutError):
                async with database.driver_connection():
                    pass
        async with database.driver_connection() as connection:
            assert connection.get_server_pid() in pids
            assert await connection.fetchval("SELECT 1") == 1
    finally:
        await database.aclose()
        postgres_server.drop_database(url)


async def test_the_engine_pool_has_no_overflow_past_pool_size(
    postgres_server: PostgresServer,
) -> None:
    url = postgres_server.create_database("engine_pool")
    database = Database(url, statement_timeout=TIMEOUT, pool_size=2).connect()
    try:
        async with AsyncExitStack() as held:
            for _ in range(2):
                session = await held.enter_async_context(database.session())
                await session.execute(text("SELECT 1"))
            with pytest.raises(sa_exc.TimeoutError) as waited:
                async with database.session() as third:
                    await third.execute(text("SELECT 1"))
            assert is_timeout(waited.value)  # a 503 for a request
    finally:
        await database.aclose()
        postgres_server.drop_database(url)
