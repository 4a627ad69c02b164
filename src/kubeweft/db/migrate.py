"""Schema migrations, run from code: at start-up and by ``kubeweft db``.

The Alembic scripts ship inside the package (``kubeweft/db/migrations``), so an
installed wheel can migrate its own database. On PostgreSQL the upgrade runs inside
one transaction holding ``pg_advisory_xact_lock``: when several replicas start at
once, one migrates and the others wait, then find the schema at head and do nothing.
PostgreSQL's DDL is transactional, so a failed migration leaves the old schema.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

from kubeweft.db.engine import create_engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# An arbitrary, fixed 64-bit key: "kubeweft" in ASCII.
ADVISORY_LOCK_KEY = 0x6B75_6265_7765_6674


def alembic_config(url: str | None = None) -> Config:
    """An Alembic ``Config`` pointing at the packaged scripts (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(slug)s")
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships a revision
        raise RuntimeError("no migrations found")
    return head


async def _run(url: str, fn: Any, *args: Any) -> Any:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
                )
            return await conn.run_sync(fn, *args)
    finally:
        await engine.dispose()


def _with_connection(connection: Connection, action: str, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    if action == "upgrade":
        command.upgrade(config, revision)
    else:
        command.downgrade(config, revision)


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def migrate(url: str, revision: str = "head") -> None:
    """Upgrade the database at ``url`` to ``revision`` (default: the newest)."""
    await _run(url, _with_connection, "upgrade", revision)


async def downgrade(url: str, revision: str) -> None:
    """Downgrade the database at ``url`` to ``revision`` (``base`` empties it)."""
    await _run(url, _with_connection, "downgrade", revision)


async def current_revision(url: str) -> str | None:
    """The revision the database is at, or None for an unmigrated database."""
    result: str | None = await _run(url, _current)
    return result
