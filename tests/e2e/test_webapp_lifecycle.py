"""End to end: the ``kubeweft run`` process reconciles WebApps that kubectl manages.

The operator runs as its own process (controller only, SQLite in a temp dir) against
the local control plane; the test drives it with kubectl only, as a user would:
apply a manifest, read the printer columns, scale through the scale subresource,
delete, then stop the process with SIGTERM and expect a clean exit.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from kubeweft.localcluster.access import ClusterAccess
from tests.support.process import KubeweftProcess, kubeweft_run
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.localcluster, pytest.mark.usefixtures("webapp_crd")]

T = TypeVar("T")
DEADLINE = 90.0


@pytest.fixture
def operator(
    local_cluster: ClusterAccess, namespace: str, tmp_path: Path
) -> Iterator[KubeweftProcess]:
    """``kubeweft run`` as the controller only, watching this test's namespace."""
    with kubeweft_run(
        local_cluster.kubeconfig_path,
        tmp_path,
        "--no-api",
        "--no-leader-election",
        env={"KUBEWEFT_WATCH_NAMESPACE": namespace},
    ) as process:
        yield process


def test_kubectl_drives_the_running_operator(
    local_cluster: ClusterAccess, namespace: str, operator: KubeweftProcess
) -> None:
    kubectl = local_cluster.kubectl
    manifest = {
        "apiVersion": "kubeweft.dev/v1",
        "kind": "WebApp",
        "metadata": {"name": "web", "namespace": namespace},
        "spec": {"image": "nginx:1.27", "replicas": 2},
    }
    kubectl("apply", "-f", "-", input=json.dumps(manifest))

    def columns() -> list[str] | None:
        out = kubectl("get", "webapps", "web", "-n", namespace, "--no-headers").stdout.split()
        return out if len(out) >= 4 and out[3] == "2" else None

    # NAME IMAGE DESIRED READY AGE
    name, image, desired, ready, _age = wait_until(
        columns, what="READY 2 in kubectl get", timeout=DEADLINE
    )
    assert (name, image, desired, ready) == ("web", "nginx:1.27", "2", "2")

    # kubectl scale uses the WebApp's scale subresource; the Deployment follows.
    kubectl("scale", "webapp/web", "-n", namespace, "--replicas=4")
    wait_until(
        lambda: (
            kubectl(
                "get",
                "deployment",
                "web",
                "-n",
                namespace,
                "-o",
                "jsonpath={.status.readyReplicas}",
            ).stdout
            == "4"
        ),
        what="Deployment scaled to 4 ready",
        timeout=DEADLINE,
    )
    events = kubectl(
        "get", "events", "-n", namespace, "--field-selector=involvedObject.name=web", "-o", "json"
    ).stdout
    reasons = {
        e["reason"] for e in json.loads(events)["items"] if e["involvedObject"]["kind"] == "WebApp"
    }
    assert {"Created", "Scaled"} <= reasons

    kubectl("delete", "webapp", "web", "-n", namespace, "--wait=true")
    wait_until(
        lambda: (
            "NotFound" in kubectl("get", "deployment", "web", "-n", namespace, check=False).stderr
        ),
        what="Deployment garbage-collected",
        timeout=DEADLINE,
    )

    assert operator.stop(timeout=60) == 0
