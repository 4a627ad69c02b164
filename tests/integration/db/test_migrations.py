"""Migrations on real databases (SQLite file and a private PostgreSQL): up, down, no drift."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from kubeweft.db.engine import create_engine
from kubeweft.db.migrate import current_revision, downgrade, head_revision, migrate
from kubeweft.db.tables import Base
from tests.support.postgres import POSTGRESQL_ONLY
from tests.support.process import child_env

pytestmark = pytest.mark.anyio

EXPECTED_TABLES = {
    "change_history",
    "reconcile_log",
    "metric_samples",
    "metric_latest",
    "annotations",
    "api_audit",
    "api_keys",
}


async def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            names: list[str] = await conn.run_sync(lambda c: inspect(c).get_table_names())
    finally:
        await engine.dispose()
    return set(names) - {"alembic_version"}


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_upgrade_empty_database_to_head_and_back_to_base(database_url: str) -> None:
    assert await current_revision(database_url) is None
    assert await _tables(database_url) == set()

    await migrate(database_url)
    assert await current_revision(database_url) == head_revision()
    assert await _tables(database_url) == EXPECTED_TABLES

    await downgrade(database_url, "base")
    assert await current_revision(database_url) is None
    assert await _tables(database_url) == set()

    await migrate(database_url)  # and up again: the downgrade left nothing behind
    assert await _tables(database_url) == EXPECTED_TABLES


async def test_models_match_migrations(database_url: str) -> None:
    await migrate(database_url)
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(_diff)
    finally:
        await engine.dispose()
    assert diff == []


async def test_migrate_twice_is_a_no_op(database_url: str) -> None:
    await migrate(database_url)
    await migrate(database_url)
    assert await current_revision(database_url) == head_revision()


@POSTGRESQL_ONLY  # the advisory lock is PostgreSQL's; SQLite is single-process by design
async def test_concurrent_migrations_run_once(database_url: str) -> None:
    """Two replicas starting together: both calls succeed and the schema is at head."""
    # Without the lock the racing DDL fails or waits forever; the deadline turns that into
    # a failure.
    with anyio.fail_after(120):
        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(migrate, database_url)
    assert await current_revision(database_url) == head_revision()
    assert await _tables(database_url) == EXPECTED_TABLES


AT_HEAD_PROBE = """
import sys, anyio
from kubeweft.db.migrate import migrate, pending
anyio.run(migrate, sys.argv[1])
assert anyio.run(pending, sys.argv[1]) == []
print("alembic" in sys.modules)
"""


async def test_a_database_at_head_is_checked_without_importing_alembic(database_url: str) -> None:
    """Alembic stays resident once imported (≈ 10 MiB): a start that finds nothing
    pending must not import it. A fresh interpreter, since this one has long ago."""

    async def alembic_imported() -> str:
        probe = [sys.executable, "-c", AT_HEAD_PROBE, database_url]
        done = await anyio.run_process(probe, check=False, env=child_env())
        assert done.returncode == 0, done.stderr.decode()
        return done.stdout.decode().strip()

    await migrate(database_url)
    assert await alembic_imported() == "False"
    await downgrade(database_url, "base")
    assert await alembic_imported() == "True"  # something was pending: Alembic ran it
    assert await current_revision(database_url) == head_revision()


def kubeweft_db(*args: str) -> str:
    """``kubeweft db ...`` as an operator types it; its stdout (fails on a non-zero exit)."""
    done = subprocess.run(
        [str(Path(sys.executable).parent / "kubeweft"), "db", *args],
        capture_output=True,
        text=True,
        check=False,
        env=child_env(),
    )
    assert done.returncode == 0, f"kubeweft db {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout


async def test_cli_upgrade_downgrade_to_base_and_upgrade_again(database_url: str) -> None:
    head = head_revision()
    url = ("--database-url", database_url)
    assert f"at {head}" in kubeweft_db("migrate", *url)
    assert await _tables(database_url) == EXPECTED_TABLES
    assert f"at {head}, head {head} (up to date)" in kubeweft_db("current", *url)

    assert "at base" in kubeweft_db("downgrade", "base", *url)
    assert await current_revision(database_url) is None
    assert await _tables(database_url) == set()
    assert f"at base, head {head} (needs `kubeweft db migrate`)" in kubeweft_db("current", *url)

    assert f"at {head}" in kubeweft_db("migrate", *url)
    assert await current_revision(database_url) == head
    assert await _tables(database_url) == EXPECTED_TABLES
