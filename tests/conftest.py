"""Shared test configuration: the real components are started by fixtures.

* ``kubeweft.localcluster.pytest_plugin`` — the local control plane (session-scoped)
  and a fresh namespace per test.
* ``tests.support.postgres`` — a private PostgreSQL server (session-scoped) and the
  ``database_url`` fixture, parametrised over SQLite and PostgreSQL.
"""

import pytest

pytest_plugins = ["kubeweft.localcluster.pytest_plugin", "tests.support.postgres"]


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"
