"""The generated controller role is enough for what the reconciler does, on a real API server.

Binding the ``edit`` ClusterRole needs ``edit``'s permissions or ``bind`` on it (the API
server's escalation check), and the registry ConfigMap needs create, get and patch: the
Tenant declares both in ``ModelInfo.rbac``. Here a user holding only the generated
ClusterRole does both, and is still refused a ConfigMap of another name.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import yaml
from kubeweft.localcluster import ClusterAccess
from kubeweft.testing import wait_until

PROJECT = Path(__file__).resolve().parents[1]


@pytest.mark.localcluster
def test_the_generated_role_binds_edit_and_writes_the_registry(
    local_cluster: ClusterAccess,
) -> None:
    suffix = uuid.uuid4().hex[:8]
    user, namespace = f"tenant-controller-{suffix}", f"rbac-{suffix}"
    role = yaml.safe_load((PROJECT / "config/rbac/role.yaml").read_text())
    role["metadata"]["name"] = f"tenant-manager-{suffix}"
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": role["metadata"]["name"]},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": role["metadata"]["name"],
        },
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
    }
    local_cluster.kubectl("create", "namespace", namespace)
    local_cluster.apply([role, binding])

    def as_controller(*args: str) -> tuple[int, str]:
        done = local_cluster.kubectl(*args, f"--as={user}", "-n", namespace, check=False)
        return done.returncode, done.stderr

    try:
        wait_until(
            lambda: as_controller("auth", "can-i", "create", "configmaps")[0] == 0,
            what="the role in force",
            timeout=30,
        )
        bound = as_controller(
            "create", "rolebinding", "tenant-owners", "--clusterrole=edit", "--user=alice"
        )
        assert bound == (0, ""), bound
        assert as_controller("create", "configmap", "tenants", "--from-literal=a=b")[0] == 0
        assert as_controller("get", "configmap", "tenants")[0] == 0
        assert as_controller("patch", "configmap", "tenants", "-p", '{"data":{"a":"c"}}')[0] == 0
        code, refused = as_controller("get", "configmap", "other")
        assert code != 0
        assert "forbidden" in refused
    finally:
        local_cluster.kubectl("delete", "clusterrolebinding,clusterrole", role["metadata"]["name"])
        local_cluster.kubectl("delete", "namespace", namespace, "--wait=false")
