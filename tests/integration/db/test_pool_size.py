"""``Database(pool_size=N)`` on PostgreSQL: each of its two pools holds at most N
connections and keeps them.

The engine's pool (ORM sessions, writes) and the read model's asyncpg pool
(``Database.driver_connection``) each lend at most N connections with no overflow: the
N+1th borrower waits and, past the statement timeout, gets ``TimeoutError`` (a 503 for
a request). A returned connection is lent again, not closed: the next read is served
by the same server backend, with its prepared statements, each planned once.
"""

from __future__ import annotations

import uuid
from contextlib import AsyncExitStack
from datetime import UTC, datetime

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import text

from kubeweft.db.engine import Database, is_timeout
from kubeweft.db.migrate import migrate
from kubeweft.repositories import read_model
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


async def test_the_read_pool_plans_the_detail_statement_once(
    postgres_server: PostgresServer,
) -> None:
    """PostgreSQL re-plans a prepared statement on every execution while a plan for the
    values at hand looks cheaper than a generic one; the read pool's connections take the
    generic plan, made once."""
    url = postgres_server.create_database("read_plans")
    await migrate(url)
    database = Database(url, statement_timeout=5.0, pool_size=1).connect()
    try:
        async with database.driver_connection() as connection:
            for _ in range(8):  # past the five executions after which PostgreSQL may switch
                await connection.fetch(
                    read_model.STATEMENTS["postgresql"],
                    str(uuid.uuid4()),
                    datetime.now(UTC),
                    10,
                    100,
                    100,
                )
            plans = await connection.fetchrow(
                "SELECT generic_plans, custom_plans FROM pg_prepared_statements"
                " WHERE statement LIKE '%change_history%'"
            )
        assert plans is not None
        assert (plans["generic_plans"], plans["custom_plans"]) == (8, 0)
    finally:
        await database.aclose()
        postgres_server.drop_database(url)
