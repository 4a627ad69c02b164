"""A cluster-scoped model through a real kubeweft process on the real API server.

The test-only ``Zone`` (``ModelInfo(namespaced=False)``) is the only model of its
application: its CRD is installed with ``scope: Cluster``, its routes have no namespace
segment, and every access check is a SubjectAccessReview without a namespace, so an
account granted the model by a namespaced Role only is refused, while a ClusterRole
grants it. Events about a zone are read from the ``default`` namespace, where
Kubernetes puts Events about cluster-scoped objects.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest

from kubeweft import App
from kubeweft.localcluster.access import ClusterAccess
from tests.integration.rest.stack import running
from tests.support import accounts
from tests.support.models import GROUP, Zone

pytestmark = [pytest.mark.anyio, pytest.mark.localcluster]

AUDIENCE = "kubeweft"
VERBS = ["get", "list", "watch", "create", "update", "patch", "delete"]

zones = App("zones")
zones.add_model(Zone)


def _rules() -> list[dict[str, Any]]:
    return [{"apiGroups": [GROUP], "resources": ["zones", "zones/annotations"], "verbs": VERBS}]


def _grants(namespace: str, suffix: str) -> list[dict[str, Any]]:
    """``cluster-admin-of-zones`` gets zones by a ClusterRole; ``team-zones`` the same
    rules by a Role in ``namespace`` only."""
    cluster_role = f"zones-editor-{suffix}"

    def subject(name: str) -> list[dict[str, str]]:
        return [{"kind": "ServiceAccount", "name": name, "namespace": namespace}]

    rbac = "rbac.authorization.k8s.io"
    return [
        accounts.service_account(namespace, "zone-admin"),
        accounts.service_account(namespace, "team-zones"),
        {
            "apiVersion": f"{rbac}/v1",
            "kind": "ClusterRole",
            "metadata": {"name": cluster_role},
            "rules": _rules(),
        },
        {
            "apiVersion": f"{rbac}/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": cluster_role},
            "roleRef": {"apiGroup": rbac, "kind": "ClusterRole", "name": cluster_role},
            "subjects": subject("zone-admin"),
        },
        {
            "apiVersion": f"{rbac}/v1",
            "kind": "Role",
            "metadata": {"name": "zones-editor", "namespace": namespace},
            "rules": _rules(),
        },
        {
            "apiVersion": f"{rbac}/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "zones-editor", "namespace": namespace},
            "roleRef": {"apiGroup": rbac, "kind": "Role", "name": "zones-editor"},
            "subjects": subject("team-zones"),
        },
    ]


def _token(cluster: ClusterAccess, namespace: str, account: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {accounts.token(cluster, namespace, account, AUDIENCE)}"}


async def test_cluster_scoped_model_end_to_end(
    local_cluster: ClusterAccess, namespace: str, tmp_path: Path
) -> None:
    suffix = secrets.token_hex(3)
    name = f"zone-{suffix}"
    event_name = f"{name}.test"
    local_cluster.apply(_grants(namespace, suffix))
    try:
        admin = _token(local_cluster, namespace, "zone-admin")
        team = _token(local_cluster, namespace, "team-zones")
        async with running(
            local_cluster,
            f"sqlite+aiosqlite:///{tmp_path / 'kubeweft.db'}",
            app=zones,
            dev_user=None,
            kubernetes_token_auth=True,
            token_audiences=[AUDIENCE],
            enable_controller=False,
        ) as stack:
            http = stack.http
            crd = local_cluster.kubectl(
                "get", "crd", Zone.model_info.crd_name, "-o", "jsonpath={.spec.scope}"
            )
            assert crd.stdout.strip() == "Cluster"

            paths = (await http.get("/openapi.json")).json()["paths"]
            assert {"/api/zones", "/api/zones/{name}", "/api/zones/{name}/events"} <= set(paths)
            assert not any("{namespace}" in path for path in paths)

            # Namespaced RBAC does not reach a cluster-scoped model.
            body = {"name": name, "spec": {"capacity": 3}}
            refused = await http.post("/api/zones", json=body, headers=team)
            assert refused.status_code == 403, refused.text
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert (await http.get("/api/zones", headers=team)).status_code == 403

            created = await http.post("/api/zones", json=body, headers=admin)
            assert created.status_code == 201, created.text
            assert created.headers["location"] == f"/api/zones/{name}"
            assert created.json()["namespace"] is None
            in_cluster = await stack.client.get(Zone, name)
            assert in_cluster.metadata.namespace is None
            assert in_cluster.spec.capacity == 3

            detail = await http.get(f"/api/zones/{name}", headers=admin)
            assert detail.status_code == 200, detail.text
            assert detail.json()["spec"] == {"capacity": 3, "description": ""}
            assert (await http.get(f"/api/zones/{name}", headers=team)).status_code == 403

            stale = await http.patch(
                f"/api/zones/{name}",
                json={"spec": {"capacity": 9}},
                headers={**admin, "If-Match": '"1"'},
            )
            assert stale.status_code == 412, stale.text
            patched = await http.patch(
                f"/api/zones/{name}",
                json={"spec": {"capacity": 5}},
                headers={**admin, "If-Match": detail.headers["etag"]},
            )
            assert patched.status_code == 200, patched.text
            assert patched.json()["spec"]["capacity"] == 5
            assert (await stack.client.get(Zone, name)).spec.capacity == 5

            listed = await http.get("/api/zones", headers=admin)
            assert listed.status_code == 200, listed.text
            assert name in [item["name"] for item in listed.json()["items"]]

            note = await http.post(
                f"/api/zones/{name}/annotations", json={"body": "rack 7"}, headers=admin
            )
            assert note.status_code == 201, note.text
            assert note.headers["location"].startswith(f"/api/zones/{name}/annotations/")
            notes = await http.get(f"/api/zones/{name}/annotations", headers=admin)
            assert [n["body"] for n in notes.json()] == ["rack 7"]

            local_cluster.apply(
                [
                    {
                        "apiVersion": "v1",
                        "kind": "Event",
                        "metadata": {"name": event_name, "namespace": "default"},
                        "involvedObject": {
                            "apiVersion": Zone.model_info.api_version,
                            "kind": "Zone",
                            "name": name,
                            "uid": in_cluster.metadata.uid,
                        },
                        "reason": "Surveyed",
                        "message": "zone surveyed",
                        "type": "Normal",
                    }
                ]
            )
            events = await http.get(f"/api/zones/{name}/events", headers=admin)
            assert events.status_code == 200, events.text
            assert [e["reason"] for e in events.json()] == ["Surveyed"]

            deleted = await http.delete(f"/api/zones/{name}", headers=admin)
            assert deleted.status_code == 204, deleted.text
            assert (await http.get(f"/api/zones/{name}", headers=admin)).status_code == 404
    finally:
        local_cluster.kubectl(
            "delete", "clusterrolebinding,clusterrole", f"zones-editor-{suffix}", check=False
        )
        local_cluster.kubectl("delete", "event", event_name, "-n", "default", check=False)
        local_cluster.kubectl("delete", "zones.test.kubeweft.dev", name, check=False)
