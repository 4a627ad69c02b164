"""Deployments on kwok nodes behave as on a real cluster: the controller-manager makes
ReplicaSets and Pods, the scheduler binds them, kwok runs them, and garbage collection
removes them when their Deployment goes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kubeweft.localcluster import ClusterAccess
from tests.support.waiting import wait_until

pytestmark = pytest.mark.localcluster


def deployment(name: str, replicas: int) -> str:
    manifest = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "web", "image": "registry.k8s.io/pause:3.10"}]},
            },
        },
    }
    return json.dumps(manifest)


def get_json(cluster: ClusterAccess, *args: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(cluster.kubectl("get", *args, "-o", "json").stdout)
    return result


def ready_replicas(cluster: ClusterAccess, namespace: str, name: str) -> int:
    status = get_json(cluster, "-n", namespace, "deployment", name).get("status", {})
    return int(status.get("readyReplicas", 0))


def test_deployment_becomes_ready_and_scales(local_cluster: ClusterAccess, namespace: str) -> None:
    local_cluster.kubectl("apply", "-n", namespace, "-f", "-", input=deployment("web", 3))

    wait_until(
        lambda: ready_replicas(local_cluster, namespace, "web"),
        accept=lambda ready: ready == 3,
        what="readyReplicas 3",
    )
    pods = get_json(local_cluster, "-n", namespace, "pods", "-l", "app=web")["items"]
    assert len(pods) == 3
    assert {pod["status"]["phase"] for pod in pods} == {"Running"}
    assert all(pod["spec"]["nodeName"].startswith("kwok-node-") for pod in pods)

    local_cluster.kubectl("scale", "-n", namespace, "deployment/web", "--replicas=1")

    wait_until(
        lambda: (
            ready_replicas(local_cluster, namespace, "web"),
            len(get_json(local_cluster, "-n", namespace, "pods", "-l", "app=web")["items"]),
        ),
        accept=lambda observed: observed == (1, 1),
        what="readyReplicas 1 and one Pod left",
    )


def test_deleting_a_deployment_collects_its_replicasets_and_pods(
    local_cluster: ClusterAccess, namespace: str
) -> None:
    local_cluster.kubectl("apply", "-n", namespace, "-f", "-", input=deployment("doomed", 2))
    wait_until(
        lambda: ready_replicas(local_cluster, namespace, "doomed"),
        accept=lambda ready: ready == 2,
        what="readyReplicas 2",
    )
    replicasets = get_json(local_cluster, "-n", namespace, "replicasets")["items"]
    assert len(replicasets) == 1
    assert replicasets[0]["metadata"]["ownerReferences"][0]["kind"] == "Deployment"

    # Background propagation: the Deployment goes at once, the garbage collector
    # (kube-controller-manager) then deletes what it owned.
    local_cluster.kubectl("delete", "-n", namespace, "deployment/doomed", "--wait=false")

    wait_until(
        lambda: (
            len(get_json(local_cluster, "-n", namespace, "replicasets")["items"]),
            len(get_json(local_cluster, "-n", namespace, "pods")["items"]),
        ),
        accept=lambda counts: counts == (0, 0),
        what="ReplicaSets and Pods garbage-collected",
    )
