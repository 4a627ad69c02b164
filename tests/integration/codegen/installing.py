"""Installing generated manifests on the test cluster the way ``config/default`` would:
the RBAC renamed into a test namespace (CRDs: ``tests.support.crds``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kubeweft.codegen import rbac_for
from kubeweft.codegen.rbac import NAMESPACE, SERVICE_ACCOUNT
from kubeweft.examples.webapp.api.v1 import WebApp
from kubeweft.localcluster import ClusterAccess

REPO = Path(__file__).resolve().parents[3]
CLUSTER_SCOPED = ("ClusterRole", "ClusterRoleBinding")


def service_account_name(namespace: str) -> str:
    return f"{namespace}-{SERVICE_ACCOUNT}"


def install_rbac(cluster: ClusterAccess, namespace: str) -> list[dict[str, Any]]:
    """The generated RBAC with ``<namespace>-`` as name prefix, in ``namespace``."""
    prefix = f"{namespace}-"
    documents = rbac_for([WebApp])
    for doc in documents:
        meta = doc["metadata"]
        meta["name"] = prefix + meta["name"]
        if doc["kind"] not in CLUSTER_SCOPED:
            meta["namespace"] = namespace
        if "roleRef" in doc:
            doc["roleRef"]["name"] = prefix + doc["roleRef"]["name"]
        for subject in doc.get("subjects", []):
            assert subject["namespace"] == NAMESPACE
            subject["namespace"] = namespace
            subject["name"] = prefix + subject["name"]
    cluster.apply(documents)
    return documents


def uninstall_cluster_scoped(cluster: ClusterAccess, documents: list[dict[str, Any]]) -> None:
    for doc in documents:
        if doc["kind"] in CLUSTER_SCOPED:
            cluster.kubectl("delete", doc["kind"].lower(), doc["metadata"]["name"], check=False)
