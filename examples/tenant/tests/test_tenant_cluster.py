"""The tenant application run as ``kubeweft run tenant.app:app`` on the local control plane.

Creating a Tenant through REST provisions its Namespace, ResourceQuota and RoleBinding
and its key in the shared registry ConfigMap, and reports Ready; a spec change through
REST is a second history row carrying the patch; the project's own table keeps each
owner and since when (``ownersSince`` in the REST detail and list); ``kubectl delete
tenant`` runs the finalizer, which removes the tenant's rows in that table and its
registry key, and the Tenant is gone afterwards while the garbage collector takes its
Namespace. A cleanup that fails (the registry made
immutable) keeps the Tenant, with a ``CleanupFailed`` Warning Event, until a retry
succeeds. One process serves both tests: kubeweft's pytest plugin runs it
(``kubeweft_app``) on the session's control plane and PostgreSQL.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import anyio
import httpx
import pytest
from kubeweft.db import create_engine
from kubeweft.localcluster import ClusterAccess
from kubeweft.testing import wait_until
from sqlalchemy import func, select

from tenant.db.tables import tenant_owners

DEADLINE = 60.0
FINALIZER = "tenancy.example.com/registry"


def get(cluster: ClusterAccess, *args: str) -> dict[str, Any] | None:
    """The object ``kubectl get ARGS -o json`` prints, or None when there is none."""
    got = cluster.kubectl("get", *args, "-o", "json", check=False)
    return json.loads(got.stdout) if got.returncode == 0 else None


def registry(cluster: ClusterAccess) -> dict[str, str]:
    found = get(cluster, "configmap", "tenants", "-n", "kube-public")
    return (found or {}).get("data") or {}


def owner_rows(database_url: str, uid: str) -> int:
    """How many rows of the project's own table the Tenant ``uid`` has."""

    async def count() -> int:
        engine = create_engine(database_url)
        try:
            async with engine.connect() as conn:
                query = select(func.count()).where(tenant_owners.c.uid == uid)
                return int((await conn.execute(query)).scalar_one())
        finally:
            await engine.dispose()

    return anyio.run(count)


def create_ready_tenant(http: httpx.Client, name: str) -> dict[str, Any]:
    spec = {"owners": ["alice", "bob"], "cpu": "2", "memory": "4Gi"}
    created = http.post("/api/tenants", json={"name": name, "spec": spec})
    assert created.status_code == 201, created.text

    def ready() -> dict[str, Any] | None:
        detail = http.get(f"/api/tenants/{name}")
        assert detail.status_code == 200, detail.text
        conditions = detail.json()["status"].get("conditions") or []
        return detail.json() if [c["status"] for c in conditions] == ["True"] else None

    return wait_until(ready, what=f"the Tenant {name} Ready=True", timeout=DEADLINE)


@pytest.mark.localcluster
def test_a_tenant_is_provisioned_recorded_and_cleaned_up_by_its_finalizer(
    local_cluster: ClusterAccess, kubeweft_api: httpx.Client, kubeweft_database_url: str
) -> None:
    name = f"team-{uuid.uuid4().hex[:8]}"
    detail = create_ready_tenant(kubeweft_api, name)
    uid = detail["uid"]
    assert detail["status"]["namespace"] == name

    namespace = get(local_cluster, "namespace", name)
    assert namespace is not None
    (owner,) = namespace["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"]) == ("Tenant", name, uid)
    quota = get(local_cluster, "resourcequota", "tenant-quota", "-n", name)
    assert quota is not None
    assert quota["spec"]["hard"] == {"requests.cpu": "2", "requests.memory": "4Gi"}
    binding = get(local_cluster, "rolebinding", "tenant-owners", "-n", name)
    assert binding is not None
    assert binding["roleRef"]["name"] == "edit"
    assert [s["name"] for s in binding["subjects"]] == ["alice", "bob"]
    assert json.loads(registry(local_cluster)[name]) == {
        "namespace": name,
        "owners": ["alice", "bob"],
    }
    stored = get(local_cluster, "tenant", name)
    assert stored is not None
    assert stored["metadata"]["finalizers"] == [FINALIZER]
    # The project's own rows, joined by UID into the detail and the list.
    since = detail["ownersSince"]
    assert set(since) == {"alice", "bob"}
    listed = kubeweft_api.get("/api/tenants")
    assert listed.status_code == 200, listed.text
    (item,) = [i for i in listed.json()["items"] if i["name"] == name]
    assert item["ownersSince"] == since
    assert owner_rows(kubeweft_database_url, uid) == 2

    patched = kubeweft_api.patch(
        f"/api/tenants/{name}",
        json={"spec": {"memory": "8Gi"}},
        headers={"content-type": "application/merge-patch+json"},
    )
    assert patched.status_code == 200, patched.text

    def two_rows() -> list[dict[str, Any]] | None:
        rows = kubeweft_api.get(f"/api/tenants/{name}/history")
        assert rows.status_code == 200, rows.text
        return rows.json() if len(rows.json()) == 2 else None

    newest, first = wait_until(two_rows, what="two history rows", timeout=DEADLINE)
    assert (first["generation"], newest["generation"]) == (1, 2)
    assert first["patch"] is None
    assert newest["patch"] == [{"op": "replace", "path": "/memory", "value": "8Gi"}]
    assert newest["spec"]["memory"] == "8Gi"

    # kubectl waits until the object is gone: only the finalizer's release lets it go.
    local_cluster.kubectl("delete", "tenant", name, "--timeout=60s")
    assert get(local_cluster, "tenant", name) is None
    assert name not in registry(local_cluster)
    assert owner_rows(kubeweft_database_url, uid) == 0

    def collected() -> bool:
        left = get(local_cluster, "namespace", name)
        return left is None or left["metadata"].get("deletionTimestamp") is not None

    wait_until(collected, what="the Namespace garbage-collected", timeout=DEADLINE)


@pytest.mark.localcluster
def test_a_failed_cleanup_keeps_the_tenant_and_is_retried(
    local_cluster: ClusterAccess, kubeweft_api: httpx.Client
) -> None:
    name = f"team-{uuid.uuid4().hex[:8]}"
    create_ready_tenant(kubeweft_api, name)
    assert name in registry(local_cluster)
    # An immutable ConfigMap refuses every write: the key cannot be removed.
    local_cluster.kubectl(
        "patch", "configmap", "tenants", "-n", "kube-public", "-p", '{"immutable": true}'
    )
    try:
        local_cluster.kubectl("delete", "tenant", name, "--wait=false")

        def warned() -> list[dict[str, Any]]:
            events = kubeweft_api.get(f"/api/tenants/{name}/events")
            assert events.status_code == 200, events.text
            return [e for e in events.json() if e["reason"] == "CleanupFailed"]

        (warning,) = wait_until(warned, what="a CleanupFailed Event", timeout=DEADLINE)
        assert warning["type"] == "Warning"
        assert FINALIZER in warning["message"]
        held = get(local_cluster, "tenant", name)
        assert held is not None
        assert held["metadata"]["deletionTimestamp"]
        assert held["metadata"]["finalizers"] == [FINALIZER]
    finally:
        # A new, mutable registry (without the key): the retry finds nothing to remove.
        local_cluster.kubectl("delete", "configmap", "tenants", "-n", "kube-public")
    wait_until(
        lambda: get(local_cluster, "tenant", name) is None,
        what="the Tenant gone after a successful retry",
        timeout=DEADLINE,
    )
