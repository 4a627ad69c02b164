"""The database fixtures of kubeweft's own tests, on the public PostgreSQL server.

``PostgresServer`` and the session's ``postgres_server`` fixture are public
(:mod:`kubeweft.testing.postgres`, :mod:`kubeweft.testing.pytest_plugin`); this module
adds what only kubeweft's tests need:

* ``postgres_url`` (session) — a database created once for the session (unmigrated;
  ``kubeweft.db.migrate`` is idempotent, so start-up migrates it).
* ``database_url`` (per test, parametrised ``sqlite`` / ``postgresql``) — a fresh,
  empty database: a temp SQLite file, or a new PostgreSQL database.
* ``database`` (per test, same parameters) — a connected, migrated ``Database``
  (:func:`tests.support.migrated.migrate_fresh`).

Without the PostgreSQL binaries the PostgreSQL tests are skipped with the fix, or
FAIL under ``CI=true`` (``unavailable``). A test that only makes sense on PostgreSQL
is decorated with :data:`POSTGRESQL_ONLY`, so its SQLite variant is never generated.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from kubeweft.db.engine import Database
from kubeweft.testing.postgres import INSTALL_HINT, PostgresServer, find_bin_dir, free_port
from tests.support.migrated import create_migrated_database, migrate_fresh

__all__ = ["INSTALL_HINT", "POSTGRESQL_ONLY", "PostgresServer", "find_bin_dir", "free_port"]


# --- fixtures ------------------------------------------------------------------------
@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    url = postgres_server.create_database("session")
    yield url
    if postgres_server.running:
        postgres_server.drop_database(url)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'kubeweft.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    if "database" in request.fixturenames:  # to be migrated: a copy of a migrated one
        url = create_migrated_database(server)
    else:
        url = server.create_database("test")
    yield url
    if not server.running:  # a test that stopped the server must not leave it down
        server.start()
    server.drop_database(url)


#: ``database_url`` (and so ``database``) only for PostgreSQL: for tests of what only a
#: server has (advisory locks, enforced VARCHAR lengths, a server that goes away).
POSTGRESQL_ONLY = pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    await migrate_fresh(database_url)  # a copy of a database migrated once per session
    db = Database(database_url).connect()
    try:
        yield db
    finally:
        await db.aclose()
