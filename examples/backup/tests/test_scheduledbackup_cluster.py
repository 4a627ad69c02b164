"""The backup application run as ``kubeweft run backup.app:app`` on the local control plane.

Creating a ScheduledBackup through REST makes its ConfigMap and CronJob, both controlled
by it, and reports Ready with the ``active_jobs`` metric it reported through the
framework; a spec change through REST updates both children and is a second history
row carrying the patch; a schedule the API server refuses for a CronJob is a
``Rejected`` condition. One process serves every test of the module.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from kubeweft.localcluster import ClusterAccess
from kubeweft.testing import kubeweft_run, wait_until

PROJECT = Path(__file__).resolve().parents[1]
DEADLINE = 60.0
SPEC = {"schedule": "0 3 * * *", "source": "postgres://db/shop"}


def get(cluster: ClusterAccess, *args: str) -> dict[str, Any] | None:
    """The object ``kubectl get ARGS -o json`` prints, or None when there is none."""
    got = cluster.kubectl("get", *args, "-o", "json", check=False)
    return json.loads(got.stdout) if got.returncode == 0 else None


@pytest.fixture(scope="module")
def namespace(local_cluster: ClusterAccess) -> Iterator[str]:
    name = f"backup-{uuid.uuid4().hex[:8]}"
    local_cluster.kubectl("create", "namespace", name)
    yield name
    local_cluster.kubectl("delete", "namespace", name, "--wait=false")


@pytest.fixture(scope="module")
def http(
    local_cluster: ClusterAccess, namespace: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[httpx.Client]:
    """A client of a running ``kubeweft run backup.app:app`` (stopped cleanly after)."""
    with kubeweft_run(
        local_cluster.kubeconfig_path,
        tmp_path_factory.mktemp("backup"),
        "backup.app:app",
        "--no-leader-election",
        env={"PYTHONPATH": str(PROJECT / "src"), "KUBEWEFT_WATCH_NAMESPACE": namespace},
        cwd=PROJECT,
    ) as process:
        with httpx.Client(base_url=process.api_url or "", timeout=60) as client:
            yield client
        assert process.stop() == 0


def ready_condition(http: httpx.Client, path: str, reason: str) -> dict[str, Any]:
    def with_reason() -> dict[str, Any] | None:
        detail = http.get(path)
        assert detail.status_code == 200, detail.text
        conditions = detail.json()["status"].get("conditions") or []
        return detail.json() if [c["reason"] for c in conditions] == [reason] else None

    return wait_until(with_reason, what=f"{path} Ready with {reason}", timeout=DEADLINE)


@pytest.mark.localcluster
def test_a_backup_schedules_a_cronjob_and_follows_its_spec(
    local_cluster: ClusterAccess, namespace: str, http: httpx.Client
) -> None:
    body = {"name": "nightly", "namespace": namespace, "spec": SPEC}
    created = http.post("/api/scheduledbackups", json=body)
    assert created.status_code == 201, created.text
    uid = created.json()["uid"]
    path = f"/api/scheduledbackups/{namespace}/nightly"

    detail = ready_condition(http, path, "Scheduled")
    assert detail["status"]["conditions"][0]["status"] == "True"
    assert detail["status"]["activeJobs"] == 0
    cronjob = get(local_cluster, "cronjob", "nightly", "-n", namespace)
    config = get(local_cluster, "configmap", "nightly-backup", "-n", namespace)
    assert cronjob is not None
    assert config is not None
    for child in (cronjob, config):
        (owner,) = child["metadata"]["ownerReferences"]
        assert (owner["kind"], owner["name"], owner["uid"]) == ("ScheduledBackup", "nightly", uid)
        assert owner["controller"] is True
    assert cronjob["spec"]["schedule"] == "0 3 * * *"
    assert config["data"]["source"] == "postgres://db/shop"

    # The metric the reconciler reported through its context, stored by the framework.
    def with_metrics() -> dict[str, Any] | None:
        metrics = http.get(path).json()["metrics"]
        return metrics if "active_jobs" in metrics else None

    metrics = wait_until(with_metrics, what="the active_jobs metric", timeout=DEADLINE)
    assert metrics["active_jobs"]["latest"] == 0

    patched = http.patch(
        path,
        json={"spec": {"schedule": "@hourly", "source": "postgres://db/orders"}},
        headers={"content-type": "application/merge-patch+json"},
    )
    assert patched.status_code == 200, patched.text

    def children_updated() -> bool:
        cronjob = get(local_cluster, "cronjob", "nightly", "-n", namespace) or {}
        config = get(local_cluster, "configmap", "nightly-backup", "-n", namespace) or {}
        return (cronjob["spec"]["schedule"], config["data"]["source"]) == (
            "@hourly",
            "postgres://db/orders",
        )

    wait_until(children_updated, what="the CronJob and ConfigMap updated", timeout=DEADLINE)

    def two_rows() -> list[dict[str, Any]] | None:
        rows = http.get(f"{path}/history")
        assert rows.status_code == 200, rows.text
        return rows.json() if len(rows.json()) == 2 else None

    newest, first = wait_until(two_rows, what="two history rows", timeout=DEADLINE)
    assert (first["generation"], newest["generation"]) == (1, 2)
    assert first["patch"] is None
    assert sorted(newest["patch"], key=lambda op: op["path"]) == [
        {"op": "replace", "path": "/schedule", "value": "@hourly"},
        {"op": "replace", "path": "/source", "value": "postgres://db/orders"},
    ]


@pytest.mark.localcluster
def test_a_schedule_the_api_server_refuses_is_a_rejected_condition(
    local_cluster: ClusterAccess, namespace: str, http: httpx.Client
) -> None:
    # Five fields, so the model accepts it; minute 99 is out of range for a CronJob.
    spec = {**SPEC, "schedule": "99 * * * *"}
    body = {"name": "broken", "namespace": namespace, "spec": spec}
    created = http.post("/api/scheduledbackups", json=body)
    assert created.status_code == 201, created.text

    detail = ready_condition(http, f"/api/scheduledbackups/{namespace}/broken", "Rejected")
    (condition,) = detail["status"]["conditions"]
    assert condition["status"] == "False"
    assert "schedule" in condition["message"]
    assert get(local_cluster, "cronjob", "broken", "-n", namespace) is None
