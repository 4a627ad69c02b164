"""pytest fixtures that run a project's application as it runs in production.

A project lists this plugin in its ``tests/conftest.py``
(``pytest_plugins = ["kubeweft.testing.pytest_plugin"]``) and names its application
in its pytest configuration (``kubeweft_app = "shop.app:app"``), or overrides the
``kubeweft_app_spec`` fixture (a :class:`kubeweft.testing.AppSpec`: what to run, from
where, with which ``PYTHONPATH`` and ``kubeweft run`` flags). Its tests then get,
once per session: the real local control plane (``local_cluster``, and a fresh
``namespace`` per test, from :mod:`kubeweft.localcluster.pytest_plugin`), a private
PostgreSQL server (``postgres_server``) and a database on it
(``kubeweft_database_url``), the application started with ``kubeweft run`` on both
(``kubeweft_app``), an HTTP client of its REST API (``kubeweft_api``, acting as a
development user of group ``system:masters``) and a Kubernetes client
(``kube_client``). One process serves every test, as one serves every user.

``KUBEWEFT_TEST_KUBECONFIG`` names an existing cluster to use instead of starting one;
``KUBEWEFT_TEST_DATABASE_URL`` an existing database instead of a private server. A
missing component skips the tests that need it, with the fix — or fails them under
``CI=true`` (:func:`kubeweft.localcluster.pytest_plugin.unavailable`).
"""

from __future__ import annotations

import atexit
import os
import signal
from collections.abc import Generator, Iterator
from pathlib import Path

import httpx
import lightkube
import pytest

from kubeweft.localcluster.access import ClusterAccess
from kubeweft.testing import postgres
from kubeweft.testing.process import AppSpec, KubeweftProcess, kubeweft_run

pytest_plugins = ["kubeweft.localcluster.pytest_plugin"]

DATABASE_ENV = "KUBEWEFT_TEST_DATABASE_URL"
APP_INI = "kubeweft_app"
DEVELOPER = "developer"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(APP_INI, 'The application kubeweft_app runs ("module:attribute").')


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed test that used the application shows the tail of its log."""
    report = yield
    process = getattr(item, "funcargs", {}).get("kubeweft_app")
    if report.failed and isinstance(process, KubeweftProcess):
        report.sections.append(("kubeweft run log", process.log_tail()))
    return report


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[postgres.PostgresServer]:
    """A private PostgreSQL server (Debian's binaries), stopped and removed at the end."""
    # Imported here: pytest imports the plugin itself first (pytest_plugins, below),
    # so that its assertions are rewritten.
    from kubeweft.localcluster.pytest_plugin import unavailable

    bin_dir = postgres.find_bin_dir()
    if bin_dir is None:
        unavailable(postgres.INSTALL_HINT)
    # `timeout`, CI cancellation and IDEs stop pytest with SIGTERM, which would skip
    # fixture teardown and leave the server running: treat it like Ctrl-C instead.
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, signal.default_int_handler)
    with postgres.PostgresServer(bin_dir) as server:
        atexit.register(server.destroy)  # a no-op once the fixture has stopped it
        yield server


@pytest.fixture(scope="session")
def kubeweft_database_url(request: pytest.FixtureRequest) -> str:
    """The application's database: ``KUBEWEFT_TEST_DATABASE_URL``, or a new one on
    ``postgres_server`` (``kubeweft run`` migrates it at start-up)."""
    external = os.environ.get(DATABASE_ENV)
    if external:
        return external
    server: postgres.PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database("app")


@pytest.fixture(scope="session")
def kubeweft_app_spec(pytestconfig: pytest.Config) -> AppSpec:
    """The ``kubeweft_app`` setting, run from the project's root with the test run's
    ``pythonpath`` setting, so it imports the project's code as the tests do."""
    target = str(pytestconfig.getini(APP_INI) or "")
    if not target:
        pytest.fail(
            f'set {APP_INI} = "package.app:app" in the pytest configuration, or override '
            "the kubeweft_app_spec fixture"
        )
    paths = tuple(Path(path) for path in pytestconfig.getini("pythonpath"))
    return AppSpec(target, root=pytestconfig.rootpath, pythonpath=paths)


@pytest.fixture(scope="session")
def kubeweft_app(
    kubeweft_app_spec: AppSpec,
    local_cluster: ClusterAccess,
    kubeweft_database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[KubeweftProcess]:
    """``kubeweft run`` of ``kubeweft_app_spec`` on the session's cluster and database,
    ready (its ``/readyz`` answered 200). Its log's tail is printed when a test fails
    while it runs, and it must exit cleanly (code 0) at the end."""
    spec = kubeweft_app_spec
    paths = [str(path) for path in spec.pythonpath]
    env = {
        "KUBEWEFT_DATABASE_URL": kubeweft_database_url,
        "PYTHONPATH": os.pathsep.join([*paths, *filter(None, [os.environ.get("PYTHONPATH")])]),
    }
    with kubeweft_run(
        local_cluster.kubeconfig_path,
        tmp_path_factory.mktemp("kubeweft-app"),
        spec.target,
        "--no-leader-election",
        *spec.args,
        env=env,
        dev_user=DEVELOPER,
        cwd=spec.root,
    ) as process:
        yield process
        assert process.stop() == 0, process.log_tail()


@pytest.fixture(scope="session")
def kubeweft_api(kubeweft_app: KubeweftProcess) -> Iterator[httpx.Client]:
    """An HTTP client of the application's REST API (``/api/...``, ``/openapi.json``)."""
    with httpx.Client(base_url=kubeweft_app.api_url or "", timeout=60.0) as client:
        yield client


@pytest.fixture(scope="session")
def kube_client(local_cluster: ClusterAccess) -> Iterator[lightkube.Client]:
    """A Kubernetes client (lightkube) of the session's cluster, as its admin."""
    config = lightkube.KubeConfig.from_file(local_cluster.kubeconfig_path)
    client = lightkube.Client(config, field_manager="kubeweft-tests")
    try:
        yield client
    finally:
        client.close()
