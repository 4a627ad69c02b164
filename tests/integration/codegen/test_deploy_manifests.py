"""``config/default`` as a whole is accepted by the real API server (server-side dry run)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from kubeweft.localcluster import ClusterAccess
from tests.integration.codegen.installing import REPO

pytestmark = pytest.mark.localcluster

NAMESPACE = "kubeweft-system"


def test_default_kustomization_passes_server_side_dry_run(
    local_cluster: ClusterAccess, webapp_crd: str
) -> None:
    # A dry-run create of the Namespace is not persisted, so the namespaced objects
    # would fail with "namespace not found"; the namespace must exist, as on a real
    # install (where the Namespace object in the kustomization creates it first).
    created = local_cluster.kubectl("create", "namespace", NAMESPACE, check=False)
    local_cluster.kubectl(
        "label",
        "--overwrite",
        "namespace",
        NAMESPACE,
        "pod-security.kubernetes.io/enforce=restricted",
    )
    try:
        result = local_cluster.kubectl(
            "apply", "--dry-run=server", "-k", str(REPO / "config" / "default")
        )
        lines = result.stdout.splitlines()
        for expected in (
            "namespace/kubeweft-system",
            "customresourcedefinition.apiextensions.k8s.io/webapps.kubeweft.dev",
            "serviceaccount/kubeweft-controller-manager",
            "role.rbac.authorization.k8s.io/kubeweft-leader-election-role",
            "clusterrole.rbac.authorization.k8s.io/kubeweft-manager-role",
            "clusterrole.rbac.authorization.k8s.io/kubeweft-webapp-editor-role",
            "rolebinding.rbac.authorization.k8s.io/kubeweft-leader-election-rolebinding",
            "clusterrolebinding.rbac.authorization.k8s.io/kubeweft-manager-rolebinding",
            "service/kubeweft-api",
            "deployment.apps/kubeweft-controller-manager",
            "poddisruptionbudget.policy/kubeweft-controller-manager",
            "service/kubeweft-webhook-service",
            "mutatingwebhookconfiguration.admissionregistration.k8s.io/"
            "kubeweft-mutating-webhook-configuration",
            "validatingwebhookconfiguration.admissionregistration.k8s.io/"
            "kubeweft-validating-webhook-configuration",
            "clusterrole.rbac.authorization.k8s.io/kubeweft-webhook-certificate-role",
        ):
            assert any(line.startswith(expected + " ") for line in lines), (expected, lines)
        assert all("(server dry run)" in line for line in lines)
        assert "PodSecurity" not in result.stderr, result.stderr
        # Nothing was persisted.
        absent = local_cluster.kubectl(
            "get", "-n", NAMESPACE, "deployment", "kubeweft-controller-manager", check=False
        )
        assert "NotFound" in absent.stderr
    finally:
        if created.returncode == 0:
            local_cluster.kubectl("delete", "namespace", NAMESPACE, "--wait=false")


def test_manager_pod_is_admitted_under_restricted_pod_security(
    local_cluster: ClusterAccess, namespace: str
) -> None:
    """Deployments only warn about PodSecurity; a Pod is enforced. Dry-run the manager's
    pod template as a Pod in a namespace that enforces the ``restricted`` profile."""
    local_cluster.kubectl(
        "label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted"
    )
    rendered = local_cluster.kubectl("kustomize", str(REPO / "config" / "default")).stdout
    (deployment,) = [d for d in yaml.safe_load_all(rendered) if d and d["kind"] == "Deployment"]
    spec: dict[str, Any] = deployment["spec"]["template"]["spec"]
    spec["serviceAccountName"] = "default"  # the real one exists only after an install
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "manager"}, "spec": spec}
    result = local_cluster.kubectl(
        "create", "--dry-run=server", "-n", namespace, "-f", "-", input=json.dumps(pod), check=False
    )
    assert result.returncode == 0, result.stderr
    # The check can fail: the same pod without its securityContext is refused.
    del spec["securityContext"]
    refused = local_cluster.kubectl(
        "create", "--dry-run=server", "-n", namespace, "-f", "-", input=json.dumps(pod), check=False
    )
    assert "violates PodSecurity" in refused.stderr
