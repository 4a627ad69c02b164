"""The real API server's refusals, as a REST client sees them (problem+json).

A real ``Process`` in front of the local control plane's API server:

* 422 — a body the REST schema takes but the CRD's structural schema refuses (two
  ``env`` entries with one name in a list-map): the API server's causes become the
  problem's ``errors``, naming the field;
* 403 — the API server refusing the write itself: a create in a namespace that is
  being deleted (held by a finalizer) is Forbidden by its NamespaceLifecycle
  admission, whatever the caller's RBAC.

429 and 5xx cannot be provoked on demand; their mapping is unit-tested
(``tests/unit/rest/test_kube_errors.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kubeweft.localcluster import ClusterAccess
from tests.integration.rest.stack import running
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.anyio, pytest.mark.localcluster]

FINALIZER = "test.kubeweft.dev/hold"


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


async def test_a_body_the_crd_schema_refuses_is_a_422_naming_the_field(
    local_cluster: ClusterAccess, namespace: str, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'kubeweft.db'}"
    async with running(local_cluster, url, enable_controller=False) as app:
        env = [{"name": "GREETING", "value": "hi"}, {"name": "GREETING", "value": "ho"}]
        body = {"name": "dup", "namespace": namespace, "spec": {"image": "nginx:1", "env": env}}
        refused = problem(await app.http.post("/api/webapps", json=body), 422)
        assert refused["type"].endswith("/validation-error")
        fields = [error["field"] for error in refused["errors"]]
        assert fields == ["spec.env[1]"], refused
        assert "Duplicate value" in refused["errors"][0]["message"]
        missing = await app.http.get(f"/api/webapps/{namespace}/dup")
        assert missing.status_code == 404


@pytest.fixture
def terminating_namespace(local_cluster: ClusterAccess, namespace: str) -> Iterator[str]:
    """A second namespace, deleted but held in Terminating by a finalizer."""
    name = f"{namespace}-doomed"[:63]
    body = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "finalizers": [FINALIZER]},
    }
    with local_cluster.http() as http:
        http.post("/api/v1/namespaces", json=body).raise_for_status()
        http.delete(f"/api/v1/namespaces/{name}").raise_for_status()
        wait_until(
            lambda: http.get(f"/api/v1/namespaces/{name}").json()["status"].get("phase"),
            accept=lambda phase: phase == "Terminating",
            what=f"namespace {name} Terminating",
        )
    try:
        yield name
    finally:
        with local_cluster.http() as http:
            http.patch(
                f"/api/v1/namespaces/{name}",
                json={"metadata": {"finalizers": None}},
                headers={"Content-Type": "application/merge-patch+json"},
            )


async def test_a_write_the_api_server_forbids_is_a_403(
    local_cluster: ClusterAccess, terminating_namespace: str, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'kubeweft.db'}"
    async with running(local_cluster, url, enable_controller=False) as app:
        body = {"name": "late", "namespace": terminating_namespace, "spec": {"image": "x:1"}}
        refused = problem(await app.http.post("/api/webapps", json=body), 403)
        assert f"webapps {terminating_namespace}/late" in refused["detail"]
