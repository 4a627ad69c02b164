"""Shared test configuration: the real components are started by fixtures.

* ``kubeweft.testing.pytest_plugin`` — the public plugin a project's tests use too: the
  local control plane (session-scoped), a fresh namespace per test, a private
  PostgreSQL server (session-scoped).
* ``tests.support.postgres`` — the ``database_url`` fixture, parametrised over SQLite
  and PostgreSQL.
* ``tests.support.crds`` — the WebApp CRD installed on the cluster (session-scoped).

Every test runs without the kubeweft settings of the shell that started pytest
(``KUBEWEFT_*``, ``KUBECONFIG``, ``DATABASE_URL``): a developer's exported database
URL or kubeconfig must not change what ``Settings()`` builds inside a test. The
variables that configure the test run itself (``KUBEWEFT_TEST_*``, e.g. an external
cluster) and the local control plane's build (``KUBEWEFT_LOCALCLUSTER_*``) are kept.
"""

import os
from collections.abc import Mapping

import hypothesis
import pytest

pytest_plugins = [
    "kubeweft.testing.pytest_plugin",
    "tests.support.postgres",
    "tests.support.crds",
]


# No per-example time limit: a test asserts behaviour, never a wall-clock time, and
# `make test` runs the unit tests beside the Go build, where an example may wait for a CPU.
hypothesis.settings.register_profile("kubeweft", deadline=None)
hypothesis.settings.load_profile("kubeweft")


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


KEPT_PREFIXES = ("KUBEWEFT_TEST_", "KUBEWEFT_LOCALCLUSTER_")
CLEARED = ("KUBECONFIG", "DATABASE_URL")


def settings_from_environment(environ: Mapping[str, str]) -> list[str]:
    """The variables ``Settings()`` would read from ``environ``."""
    return [
        name
        for name in environ
        if name in CLEARED or (name.startswith("KUBEWEFT_") and not name.startswith(KEPT_PREFIXES))
    ]


@pytest.fixture(autouse=True)
def _no_settings_from_the_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in settings_from_environment(os.environ):
        monkeypatch.delenv(name)
