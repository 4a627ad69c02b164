"""``kubeweft run`` as a pod would run it — in-cluster configuration from a service
account directory, the generated RBAC and nothing more — reconciles a WebApp, wins
the leader Lease and serves the REST API. If the generated role missed a verb the
process uses, this is where it would show (a stuck reconcile or a 403 in the log)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from kubeweft.localcluster import ClusterAccess
from tests.integration.codegen.installing import (
    install_rbac,
    service_account_name,
    uninstall_cluster_scoped,
)
from tests.support.process import KubeweftProcess, kubeweft_run
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.localcluster, pytest.mark.slow]

LEASE = "kubeweft-rbac"


@pytest.fixture
def operator(
    local_cluster: ClusterAccess, namespace: str, webapp_crd: str, tmp_path: Path
) -> Iterator[KubeweftProcess]:
    """``kubeweft run`` as the Deployment runs it: in-cluster config from a mounted
    ServiceAccount token bound to exactly the generated RBAC, production mode."""
    documents = install_rbac(local_cluster, namespace)
    account = service_account_name(namespace)
    # What the kubelet mounts at /var/run/secrets/kubernetes.io/serviceaccount.
    mount = tmp_path / "serviceaccount"
    mount.mkdir()
    token = local_cluster.kubectl("create", "token", "-n", namespace, account, "--duration=1h")
    (mount / "token").write_text(token.stdout.strip())
    (mount / "ca.crt").write_bytes(local_cluster.ca_path.read_bytes())
    (mount / "namespace").write_text(namespace)
    server = urlsplit(local_cluster.server)
    env = {
        "HOME": str(tmp_path),  # no ~/.kube/config to fall back on
        "KUBERNETES_SERVICE_HOST": server.hostname or "",
        "KUBERNETES_SERVICE_PORT": str(server.port),
        "KUBEWEFT_SERVICE_ACCOUNT_DIR": str(mount),
        "KUBEWEFT_MODE": "production",
        "KUBEWEFT_KUBERNETES_TOKEN_AUTH": "true",
        "KUBEWEFT_INSTALL_CRDS": "false",
        "KUBEWEFT_LEADER_ELECTION": "true",
        "KUBEWEFT_LEADER_ELECTION_NAMESPACE": namespace,
        "KUBEWEFT_LEADER_ELECTION_ID": LEASE,
        # Only this test's namespace: WebApps other tests left behind are not ours.
        "KUBEWEFT_WATCH_NAMESPACE": namespace,
        "KUBEWEFT_DRAIN_TIMEOUT_SECONDS": "10",
        # The manager role is under test here; the webhook's certificate and its RBAC
        # (config/webhook) are tested in tests/integration/webhook.
        "KUBEWEFT_WEBHOOK_CERTIFICATES": "off",
    }
    try:
        with kubeweft_run(
            None, tmp_path, env=env, dev_user=None, ready_timeout=120.0, stop_timeout=60.0
        ) as process:
            yield process
    finally:
        uninstall_cluster_scoped(local_cluster, documents)


def get_json(cluster: ClusterAccess, *args: str) -> dict[str, Any]:
    done = cluster.kubectl("get", *args, "-o", "json", check=False)
    return json.loads(done.stdout) if done.returncode == 0 else {}


def test_operator_works_with_exactly_the_generated_rbac(
    local_cluster: ClusterAccess, namespace: str, operator: KubeweftProcess
) -> None:
    # Reconciling: a WebApp created with kubectl converges.
    webapp = {
        "apiVersion": "kubeweft.dev/v1",
        "kind": "WebApp",
        "metadata": {"name": "shop"},
        "spec": {
            "image": "registry.k8s.io/pause:3.10",
            "replicas": 2,
            "ports": [{"name": "http", "port": 8080}],
        },
    }
    local_cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(webapp))
    status = wait_until(
        lambda: get_json(local_cluster, "-n", namespace, "webapp", "shop").get("status", {}),
        accept=lambda s: s.get("readyReplicas") == 2,
        what="WebApp shop ready",
        timeout=120.0,
    )
    conditions = {c["type"]: c["status"] for c in status.get("conditions", [])}
    assert conditions.get("Ready") == "True", status
    for kind in ("deployment", "service"):
        owned = get_json(local_cluster, "-n", namespace, kind, "shop")
        assert owned["metadata"]["ownerReferences"][0]["kind"] == "WebApp"

    # Leader election: the generated namespaced Role let it take the Lease, and the
    # holder is this process (the identity it logged when it became leader).
    lease = get_json(local_cluster, "-n", namespace, "lease", LEASE)
    holder = lease["spec"]["holderIdentity"]
    assert holder, lease
    assert f"{holder} became leader of lease {LEASE}" in operator.log()

    # The REST layer: TokenReview + SubjectAccessReview with the process's identity,
    # and a create through the API, written with the same identity.
    local_cluster.kubectl(
        "create", "rolebinding", "alice-edit", "--clusterrole=edit", "--user=alice",
        "-n", namespace,
    )  # fmt: skip
    alice = {"Authorization": f"Bearer {local_cluster.token_for('alice')}"}
    bob = {"Authorization": f"Bearer {local_cluster.token_for('bob')}"}

    def read_shop() -> int:
        return httpx.get(
            f"{operator.api_url}/api/webapps/{namespace}/shop", headers=alice
        ).status_code

    wait_until(
        read_shop,
        accept=lambda code: code == 200,
        what="alice reads shop through the REST API",
        timeout=120.0,
    )
    refused = httpx.get(f"{operator.api_url}/api/webapps/{namespace}/shop", headers=bob)
    assert refused.status_code == 403
    body = {"namespace": namespace, "name": "blog", "spec": {"image": "nginx:1.27"}}
    created = httpx.post(f"{operator.api_url}/api/webapps", json=body, headers=alice, timeout=30)
    assert created.status_code == 201, created.text
    events = httpx.get(f"{operator.api_url}/api/webapps/{namespace}/shop/events", headers=alice)
    assert events.status_code == 200, events.text
    wait_until(
        lambda: get_json(local_cluster, "-n", namespace, "deployment", "blog"),
        accept=lambda d: bool(d),
        what="blog's Deployment created by the reconciler",
        timeout=120.0,
    )

    # A clean shutdown, and nothing was refused along the way.
    assert operator.stop(timeout=60) == 0, operator.log_tail()
    output = operator.log()
    assert "forbidden" not in output.lower(), output
