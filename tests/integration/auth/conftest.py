"""Two team namespaces on the real local control plane, with RBAC for alice, bob and carol.

* ``alice`` may edit WebApps (and add/remove their annotations) in team-a only;
* ``bob`` may only get/list/watch WebApps in team-a;
* ``carol`` has no binding at all.

Namespaces get fresh names per test (``namespace`` fixture plus one more made here), so
tests never see each other's bindings.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.requests import HTTPConnection

from kubeweft.localcluster.access import ClusterAccess
from kubeweft.runtime.client import Client

pytestmark = pytest.mark.localcluster

GROUP = "kubeweft.dev"


@dataclass(frozen=True)
class Teams:
    team_a: str
    team_b: str


def editor_role(namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": "webapp-editor", "namespace": namespace},
        "rules": [
            {
                "apiGroups": [GROUP],
                "resources": ["webapps"],
                "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
            },
            {
                "apiGroups": [GROUP],
                "resources": ["webapps/annotations"],
                "verbs": ["create", "delete"],
            },
        ],
    }


def viewer_role(namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": "webapp-viewer", "namespace": namespace},
        "rules": [
            {"apiGroups": [GROUP], "resources": ["webapps"], "verbs": ["get", "list", "watch"]}
        ],
    }


def binding(namespace: str, name: str, role: str, subject: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": name, "namespace": namespace},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role},
        "subjects": [subject],
    }


def user(name: str) -> dict[str, str]:
    return {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": name}


@pytest.fixture
def teams(local_cluster: ClusterAccess, namespace: str) -> Iterator[Teams]:
    team_b = f"t-team-b-{secrets.token_hex(3)}"
    local_cluster.kubectl("create", "namespace", team_b)
    try:
        local_cluster.apply(
            [
                editor_role(namespace),
                viewer_role(namespace),
                editor_role(team_b),
                binding(namespace, "alice-edit", "webapp-editor", user("alice")),
                binding(namespace, "bob-view", "webapp-viewer", user("bob")),
            ]
        )
        yield Teams(team_a=namespace, team_b=team_b)
    finally:
        local_cluster.kubectl("delete", "namespace", team_b, "--wait=false", check=False)


@pytest.fixture
async def admin_client(local_cluster: ClusterAccess) -> AsyncIterator[Client]:
    client = Client.from_kubeconfig(local_cluster.kubeconfig_path)
    try:
        yield client
    finally:
        await client.aclose()


def connection(**headers: str) -> HTTPConnection:
    """An HTTP request as the REST layer would hand it to the authenticator."""
    raw = [(k.replace("_", "-").lower().encode(), v.encode()) for k, v in headers.items()]
    return HTTPConnection({"type": "http", "path": "/api/webapps", "headers": raw, "client": None})
