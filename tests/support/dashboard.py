"""The set-up the dashboard's browser tests share: two team namespaces, one ``kubeweft
run`` with real authentication (no development identity), its API's cache waited on,
and a directory for screenshots.

Each test module keeps its own fixtures (its authentication, RBAC and WebApps differ)
and builds them from these pieces.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from kubeweft.localcluster.access import ClusterAccess
from tests.support.process import KubeweftProcess, kubeweft_run
from tests.support.waiting import wait_until

__all__ = ["LISTED_DEADLINE", "api_once_listed", "dashboard_process", "screenshots", "teams"]

#: How long the process may take to list the WebApps created before it started.
LISTED_DEADLINE = 60.0


@contextmanager
def teams(cluster: ClusterAccess, prefix: str) -> Iterator[tuple[str, str]]:
    """Two new namespaces ``<prefix>-a-…`` and ``<prefix>-b-…``, deleted afterwards
    (without waiting: nothing later depends on them being gone)."""
    suffix = secrets.token_hex(3)
    team_a, team_b = f"{prefix}-a-{suffix}", f"{prefix}-b-{suffix}"
    try:
        for namespace in (team_a, team_b):
            cluster.kubectl("create", "namespace", namespace)
        yield team_a, team_b
    finally:
        for namespace in (team_a, team_b):
            cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


@contextmanager
def dashboard_process(
    cluster: ClusterAccess, workdir: Path, env: Mapping[str, str]
) -> Iterator[KubeweftProcess]:
    """``kubeweft run`` without a development identity (``env`` adds its authentication),
    without leader election, stopped within 5 s."""
    settings = {"KUBEWEFT_DEV_USER": "", "KUBEWEFT_DRAIN_TIMEOUT_SECONDS": "5", **env}
    with kubeweft_run(
        cluster.kubeconfig_path, workdir, "--no-leader-election", env=settings, dev_user=None
    ) as process:
        yield process


def api_once_listed(
    process: KubeweftProcess, namespace: str, names: Iterable[str], headers: Mapping[str, str]
) -> str:
    """The process's API URL, once a request with ``headers`` lists exactly ``names`` in
    ``namespace``."""
    url = f"http://127.0.0.1:{process.api_port}"
    wanted = set(names)

    def all_listed() -> bool:
        body = httpx.get(f"{url}/api/webapps/{namespace}", headers=dict(headers)).json()
        return {item["name"] for item in body.get("items", [])} == wanted

    wait_until(
        all_listed, what=f"the WebApps of {namespace} in the API's cache", timeout=LISTED_DEADLINE
    )
    return url


def screenshots(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """Where screenshots go: ``KUBEWEFT_TEST_ARTIFACTS`` if set (printed), else a new
    temporary directory ``name``."""
    chosen = os.environ.get("KUBEWEFT_TEST_ARTIFACTS")
    where = Path(chosen) if chosen else tmp_path_factory.mktemp(name)
    where.mkdir(parents=True, exist_ok=True)
    print(f"dashboard screenshots: {where}")
    return where
