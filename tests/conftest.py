"""Shared test configuration: the real components are started by fixtures.

* ``kubeweft.localcluster.pytest_plugin`` — the local control plane (session-scoped)
  and a fresh namespace per test.
* ``tests.support.postgres`` — a private PostgreSQL server (session-scoped) and the
  ``database_url`` fixture, parametrised over SQLite and PostgreSQL.
* ``tests.support.crds`` — the WebApp CRD installed on the cluster (session-scoped).
"""

import pytest

pytest_plugins = [
    "kubeweft.localcluster.pytest_plugin",
    "tests.support.postgres",
    "tests.support.crds",
]


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"
