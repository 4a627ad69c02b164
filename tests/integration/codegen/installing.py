"""Installing generated manifests on the test cluster the way ``config/default`` would:
CRDs (waiting until they serve), and the RBAC renamed into a test namespace."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import yaml

from kubeweft.api.v1alpha1 import WebApp
from kubeweft.codegen import rbac_for
from kubeweft.codegen.rbac import NAMESPACE, SERVICE_ACCOUNT
from kubeweft.localcluster import ClusterAccess

REPO = Path(__file__).resolve().parents[3]
WEBAPP_CRD = REPO / "config" / "crd" / "bases" / "kubeweft.dev_webapps.yaml"
CLUSTER_SCOPED = ("ClusterRole", "ClusterRoleBinding")


def install_crd(cluster: ClusterAccess, path: Path, name: str) -> None:
    """Apply, wait for ``Established``, then until a list succeeds: right after
    ``Established`` the API server still answers 429 "storage is (re)initializing"
    while the new resource's watch cache fills."""
    cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(path))
    cluster.kubectl("wait", "--for=condition=Established", f"crd/{name}", "--timeout=60s")
    (crd,) = yaml.safe_load_all(path.read_text())
    group, plural = crd["spec"]["group"], crd["spec"]["names"]["plural"]
    version = crd["spec"]["versions"][0]["name"]
    deadline = time.monotonic() + 60.0
    with cluster.http() as client:
        while (status := client.get(f"/apis/{group}/{version}/{plural}").status_code) != 200:
            assert time.monotonic() < deadline, f"listing {plural} still answers {status}"
            time.sleep(0.1)


def service_account_name(namespace: str) -> str:
    return f"{namespace}-{SERVICE_ACCOUNT}"


def install_rbac(
    cluster: ClusterAccess, namespace: str, *, impersonation: bool = False
) -> list[dict[str, Any]]:
    """The generated RBAC with ``<namespace>-`` as name prefix, in ``namespace``."""
    prefix = f"{namespace}-"
    documents = rbac_for([WebApp], impersonation=impersonation)
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
