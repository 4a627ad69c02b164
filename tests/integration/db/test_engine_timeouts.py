"""The engine's statement timeout on the real databases, below the REST layer.

Each bound is met by a database that really does not answer: a statement the
PostgreSQL server runs too long (its ``statement_timeout``), a PostgreSQL server frozen
with ``SIGSTOP`` (asyncpg's ``command_timeout`` and ``Database.deadline``), and
SQLite's write lock held by another connection (the busy timeout). Each failure is
recognised by ``is_timeout``, and the engine works again once the database does.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from kubeweft.db.engine import Database, is_timeout
from kubeweft.db.migrate import migrate
from tests.integration.db.conftest import frozen
from tests.support.postgres import PostgresServer

pytestmark = pytest.mark.anyio

TIMEOUT = 1.0


async def select_one(database: Database, sql: str = "SELECT 1") -> None:
    with database.deadline():
        async with database.transaction() as session:
            await session.execute(text(sql))


async def failure_of(database: Database, sql: str = "SELECT 1") -> BaseException:
    try:
        await select_one(database, sql)
    except Exception as exc:
        return exc
    raise AssertionError("the statement succeeded")


@pytest.mark.postgres
async def test_postgres_cancels_a_long_statement(postgres_server: PostgresServer) -> None:
    url = postgres_server.create_database("slow")
    database = Database(url, statement_timeout=TIMEOUT).connect()
    try:
        error = await failure_of(database, "SELECT pg_sleep(30)")
        assert is_timeout(error), repr(error)
        await select_one(database)  # the connection pool is still usable
    finally:
        await database.aclose()
        postgres_server.drop_database(url)


@pytest.mark.postgres
async def test_frozen_postgres_times_out_then_recovers(private_postgres: PostgresServer) -> None:
    database = Database(private_postgres.create_database(), statement_timeout=TIMEOUT).connect()
    try:
        await select_one(database)
        with frozen(private_postgres):
            for _ in range(2):  # a pooled connection, then whatever replaced it
                error = await failure_of(database)
                assert is_timeout(error), repr(error)
            assert not await database.ping()
        await select_one(database)
        assert await database.ping()
    finally:
        await database.aclose()


async def test_sqlite_write_lock_times_out(tmp_path: Path) -> None:
    db_file = tmp_path / "kubeweft.db"
    url = f"sqlite+aiosqlite:///{db_file}"
    await migrate(url)
    database = Database(url, statement_timeout=TIMEOUT).connect()
    holder = sqlite3.connect(db_file, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        insert = "INSERT INTO api_keys (id, secret_hash, user, groups, created_at) "
        insert += "VALUES ('k', 'h', 'u', '[]', '2026-01-01 00:00:00')"
        error = await failure_of(database, insert)
        assert is_timeout(error), repr(error)
        await select_one(database, "SELECT count(*) FROM api_keys")  # readers never wait
        holder.execute("ROLLBACK")
        async with database.transaction() as session:
            await session.execute(text(insert))
    finally:
        holder.close()
        await database.aclose()


def test_other_failures_are_not_timeouts() -> None:
    assert not is_timeout(ValueError("no"))
    assert not is_timeout(sqlite3.OperationalError("no such table: x"))
    assert is_timeout(sqlite3.OperationalError("database is locked"))
