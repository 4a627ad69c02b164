"""End to end: the ``kubeweft run`` process reconciles WebApps that kubectl manages.

The operator runs as its own process (controller only, SQLite in a temp dir) against
the local control plane; the test drives it with kubectl only, as a user would:
apply a manifest, read the printer columns, scale through the scale subresource,
delete, then stop the process with SIGTERM and expect a clean exit.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from kubeweft.localcluster.access import ClusterAccess
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.localcluster, pytest.mark.usefixtures("webapp_crd")]

T = TypeVar("T")
DEADLINE = 90.0


@pytest.fixture
def operator(local_cluster: ClusterAccess, tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    log = (tmp_path / "operator.log").open("w")
    command = [
        str(Path(sys.executable).parent / "kubeweft"),
        "run",
        f"--kubeconfig={local_cluster.kubeconfig_path}",
        f"--state-dir={tmp_path / 'state'}",
        f"--database-url=sqlite+aiosqlite:///{tmp_path / 'kubeweft.db'}",
        "--no-api",
        "--probe-port=0",
        "--no-local-cluster",
        "--no-leader-election",
        "--log-format=json",
    ]
    process = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, text=True, env={**os.environ}
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
        log.close()
        if process.returncode not in (0, -signal.SIGKILL):
            print((tmp_path / "operator.log").read_text()[-5000:])


def test_kubectl_drives_the_running_operator(
    local_cluster: ClusterAccess, namespace: str, operator: subprocess.Popen[str]
) -> None:
    kubectl = local_cluster.kubectl
    manifest = {
        "apiVersion": "kubeweft.dev/v1alpha1",
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

    operator.send_signal(signal.SIGTERM)
    assert operator.wait(timeout=60) == 0
