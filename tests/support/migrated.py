"""A fresh test database brought to kubeweft's head by copying one migrated per session.

Most integration tests start on a new, empty database (``database_url``) that must be
migrated first: the ``database`` fixture and ``tests.integration.rest.stack.running``
did it by running every revision, once per test and dialect. Instead one database per
session (and server) is migrated, and each new one is a copy of it:
:func:`create_migrated_database` makes a PostgreSQL database with ``CREATE DATABASE …
TEMPLATE``, and :func:`migrate_fresh` copies the file over a new, empty SQLite
database. ``migrate`` still runs on the copy and finds it at head. The copy holds
exactly what the revisions wrote (schema and version table); an SQLite file already
written to (a test's second start on it) is only migrated, never replaced. The
revisions themselves are tested on empty databases (``tests/integration/db``).
"""

from __future__ import annotations

import atexit
import itertools
import os
import shutil
import tempfile
from pathlib import Path

import anyio
from sqlalchemy.engine import URL, make_url

from kubeweft.db.migrate import migrate
from kubeweft.testing.postgres import PostgresServer

__all__ = ["create_migrated_database", "migrate_fresh"]

#: Per session: the migrated SQLite file, and per PostgreSQL server its template's name.
_templates: dict[str, str] = {}
_numbers = itertools.count()


async def migrate_fresh(url: str) -> None:
    """``migrate(url)``; a new, empty SQLite file is first made a copy of a migrated one."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        await _copy_sqlite(parsed)
    await migrate(url)


def create_migrated_database(server: PostgresServer) -> str:
    """A new database on ``server`` made from its template migrated to kubeweft's head
    (created and migrated on the first call); its URL."""
    key = f"{server.bin_dir}:{server.port}"
    template = _templates.get(key)
    if template is None:
        url = server.create_database("migrated_template")
        anyio.run(migrate, url)
        template = _templates[key] = url.rsplit("/", 1)[1]
    name = f"migrated_{os.getpid()}_{next(_numbers)}"
    server.psql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return server.url(name)


def _written(database: str | None) -> bool:
    """Whether the SQLite ``database`` is in memory or a file already written to."""
    return not database or (Path(database).exists() and Path(database).stat().st_size > 0)


async def _copy_sqlite(url: URL) -> None:
    if _written(url.database):
        return
    target = str(url.database)
    template = _templates.get("sqlite")
    if template is None:
        folder = tempfile.mkdtemp(prefix="kubeweft-migrated-")
        atexit.register(shutil.rmtree, folder, True)
        template = os.path.join(folder, "migrated.db")
        await migrate(str(url.set(database=template)))
        _templates["sqlite"] = template
    shutil.copyfile(template, target)
