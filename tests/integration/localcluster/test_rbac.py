"""Authentication and RBAC on the local API server: static-token users, service-account
tokens from TokenRequest checked by TokenReview, and RoleBindings that open access."""

from __future__ import annotations

import json

import pytest

from kubeweft.localcluster import ClusterAccess
from tests.support.waiting import wait_until

pytestmark = pytest.mark.localcluster


def status_as(cluster: ClusterAccess, token: str, path: str) -> int:
    with cluster.http(token=token) as client:
        return client.get(path).status_code


def test_non_admin_user_is_denied_until_a_rolebinding_allows(
    local_cluster: ClusterAccess, namespace: str
) -> None:
    alice = local_cluster.token_for("alice")
    bob = local_cluster.token_for("bob")
    configmaps = f"/api/v1/namespaces/{namespace}/configmaps"
    assert status_as(local_cluster, alice, configmaps) == 403
    assert status_as(local_cluster, "not-a-token", configmaps) == 401

    local_cluster.kubectl(
        "create", "role", "cm-reader", "-n", namespace, "--verb=get,list", "--resource=configmaps"
    )
    local_cluster.kubectl(
        "create", "rolebinding", "alice-reads", "-n", namespace, "--role=cm-reader", "--user=alice"
    )

    wait_until(
        lambda: status_as(local_cluster, alice, configmaps),
        accept=lambda code: code == 200,
        what="alice may list configmaps",
        timeout=30.0,
    )
    assert status_as(local_cluster, bob, configmaps) == 403
    assert status_as(local_cluster, alice, "/api/v1/namespaces/default/configmaps") == 403
    # The user's own kubeconfig works with kubectl too.
    can_i = local_cluster.kubectl(
        "auth", "can-i", "list", "configmaps", "-n", namespace, user="alice", check=False
    )
    assert can_i.stdout.strip() == "yes"


def test_service_account_token_is_issued_and_reviewed(
    local_cluster: ClusterAccess, namespace: str
) -> None:
    token = local_cluster.kubectl("create", "token", "default", "-n", namespace).stdout.strip()

    review = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenReview",
        "spec": {"token": token},
    }
    with local_cluster.http() as client:
        response = client.post("/apis/authentication.k8s.io/v1/tokenreviews", json=review)
    assert response.status_code == 201, response.text
    status = response.json()["status"]
    assert status["authenticated"] is True
    assert status["user"]["username"] == f"system:serviceaccount:{namespace}:default"

    # Authenticated (not 401) but not authorised (403) to list Pods.
    assert status_as(local_cluster, token, f"/api/v1/namespaces/{namespace}/pods") == 403
    whoami = local_cluster.kubectl("auth", "whoami", "-o", "json", f"--token={token}", check=False)
    assert whoami.returncode == 0, whoami.stderr
    assert json.loads(whoami.stdout)["status"]["userInfo"]["username"].endswith(":default")
