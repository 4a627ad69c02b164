"""The generated RBAC on a real API server: bound to a ServiceAccount, it allows exactly
what the controller and the REST layer use, and nothing else (no Secrets, no
deletecollection, no impersonation)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kubeweft.codegen import rbac_for
from kubeweft.codegen.rbac import SERVICE_ACCOUNT
from kubeweft.examples.webapp.api.v1 import WebApp
from kubeweft.localcluster import ClusterAccess
from tests.integration.codegen.installing import install_rbac, uninstall_cluster_scoped
from tests.support.waiting import wait_until

pytestmark = pytest.mark.localcluster


@pytest.fixture
def service_account(local_cluster: ClusterAccess, namespace: str) -> Iterator[str]:
    documents = install_rbac(local_cluster, namespace)
    try:
        yield f"{namespace}-{SERVICE_ACCOUNT}"
    finally:
        uninstall_cluster_scoped(local_cluster, documents)


def can_i(cluster: ClusterAccess, user: str, *args: str) -> bool:
    result = cluster.kubectl("auth", "can-i", f"--as={user}", *args, check=False)
    assert result.stdout.strip() in ("yes", "no"), result.stdout + result.stderr
    return result.stdout.strip() == "yes"


def test_service_account_can_do_exactly_what_the_controller_needs(
    local_cluster: ClusterAccess, namespace: str, service_account: str, webapp_crd: str
) -> None:
    user = f"system:serviceaccount:{namespace}:{service_account}"
    ns = ["-n", namespace]
    allowed = [
        ["get", "webapps.kubeweft.dev", *ns],
        ["list", "webapps.kubeweft.dev", "--all-namespaces"],
        ["watch", "webapps.kubeweft.dev", "--all-namespaces"],
        ["update", "webapps.kubeweft.dev", *ns],
        ["patch", "webapps.kubeweft.dev", *ns],
        ["create", "webapps.kubeweft.dev", *ns],  # the REST layer's POST
        ["delete", "webapps.kubeweft.dev", *ns],  # the REST layer's DELETE
        ["list", "events", *ns],  # the REST layer's events view
        ["update", "webapps.kubeweft.dev", "--subresource=status", *ns],
        ["patch", "webapps.kubeweft.dev", "--subresource=status", *ns],
        ["update", "webapps.kubeweft.dev", "--subresource=finalizers", *ns],
        ["create", "deployments.apps", *ns],
        ["delete", "deployments.apps", *ns],
        ["watch", "deployments.apps", "--all-namespaces"],
        ["create", "services", *ns],
        ["patch", "services", *ns],
        ["create", "events", *ns],
        ["create", "events.events.k8s.io", *ns],
        ["create", "tokenreviews.authentication.k8s.io"],
        ["create", "subjectaccessreviews.authorization.k8s.io"],
        ["create", "leases.coordination.k8s.io", *ns],
        ["update", "leases.coordination.k8s.io", *ns],
    ]
    denied = [
        ["get", "secrets", *ns],
        ["list", "secrets", "-n", "kube-system"],
        ["get", "configmaps", *ns],
        ["list", "pods", *ns],
        ["deletecollection", "webapps.kubeweft.dev", *ns],
        ["deletecollection", "deployments.apps", *ns],
        ["delete", "events", *ns],
        ["create", "leases.coordination.k8s.io", "-n", "kube-system"],
        ["impersonate", "users"],
        ["impersonate", "serviceaccounts", *ns],
        ["create", "clusterrolebindings.rbac.authorization.k8s.io"],
        ["update", "customresourcedefinitions.apiextensions.k8s.io"],
        ["create", "webapps.kubeweft.dev", "--subresource=annotations", *ns],
    ]
    assert [a for a in allowed if not can_i(local_cluster, user, *a)] == []
    assert [d for d in denied if can_i(local_cluster, user, *d)] == []


def test_a_real_token_of_the_service_account_is_held_to_the_role(
    local_cluster: ClusterAccess, namespace: str, service_account: str, webapp_crd: str
) -> None:
    token = local_cluster.kubectl(
        "create", "token", "-n", namespace, service_account, "--duration=10m"
    ).stdout.strip()
    lease = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "kubeweft-leader"},
        "spec": {"holderIdentity": "test"},
    }
    review = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenReview",
        "spec": {"token": token},
    }
    webapp = {
        "apiVersion": "kubeweft.dev/v1",
        "kind": "WebApp",
        "metadata": {"name": "w"},
        "spec": {"image": "nginx"},
    }
    with local_cluster.http(token=token) as client:
        listed = client.get("/apis/kubeweft.dev/v1/webapps")
        assert listed.status_code == 200, listed.text
        assert client.get("/apis/apps/v1/deployments").status_code == 200
        leases = f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"
        assert client.post(leases, json=lease).status_code == 201
        reviewed = client.post("/apis/authentication.k8s.io/v1/tokenreviews", json=review)
        assert reviewed.status_code == 201
        assert reviewed.json()["status"]["user"]["username"].endswith(service_account)

        for path in (
            f"/api/v1/namespaces/{namespace}/secrets",
            "/api/v1/namespaces/kube-system/secrets",
            "/api/v1/secrets",
            f"/api/v1/namespaces/{namespace}/configmaps",
        ):
            assert client.get(path).status_code == 403, path
        # The REST layer creates and deletes models with this identity.
        webapps = f"/apis/kubeweft.dev/v1/namespaces/{namespace}/webapps"
        assert client.post(webapps, json=webapp).status_code == 201
        assert client.delete(f"{webapps}/w").status_code == 200
        assert client.delete(webapps).status_code == 403  # deletecollection


def test_user_roles_aggregate_into_the_builtin_roles(
    local_cluster: ClusterAccess, namespace: str
) -> None:
    """alice bound to the built-in ``edit`` role in a namespace gets WebApp rights
    (including the REST layer's annotations), ``view`` does not allow writes."""
    documents = [d for d in rbac_for([WebApp]) if d["metadata"]["name"].startswith("webapp-")]
    local_cluster.apply(documents)
    try:
        local_cluster.kubectl(
            "create", "rolebinding", "alice-edit", "--clusterrole=edit", "--user=alice",
            "-n", namespace,
        )  # fmt: skip
        local_cluster.kubectl(
            "create", "rolebinding", "bob-view", "--clusterrole=view", "--user=bob",
            "-n", namespace,
        )  # fmt: skip
        ns = ["-n", namespace]
        checks = {
            ("alice", "create", "webapps.kubeweft.dev"): True,
            ("alice", "create", "webapps.kubeweft.dev/annotations"): True,
            ("alice", "delete", "webapps.kubeweft.dev/annotations"): True,
            ("bob", "list", "webapps.kubeweft.dev"): True,
            ("bob", "get", "webapps.kubeweft.dev"): True,
            ("bob", "delete", "webapps.kubeweft.dev/annotations"): False,
            ("bob", "create", "webapps.kubeweft.dev/annotations"): False,
            ("bob", "patch", "webapps.kubeweft.dev"): False,
        }

        def ask(user: str, verb: str, resource: str) -> bool:
            name, _, sub = resource.partition("/")
            extra = [f"--subresource={sub}"] if sub else []
            return can_i(local_cluster, user, verb, name, *extra, *ns)

        # Aggregation is done by the controller-manager: wait until it shows.
        wait_until(
            lambda: {key: ask(*key) for key in checks},
            accept=lambda seen: seen == checks,
            what="aggregated WebApp rights in edit/view",
        )
    finally:
        uninstall_cluster_scoped(local_cluster, documents)
