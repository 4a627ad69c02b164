"""The shipped application's webhooks on the real API server (``local`` certificates):
kube-apiserver calls the process at its loopback URL with the CA from the state
directory, kubectl and REST are refused with the same field, defaults are stored, and
with the process gone creation fails closed except in the excluded namespaces."""

import functools
import json
import subprocess
from pathlib import Path
from typing import Any

import anyio
import pytest

from kubeweft.localcluster import ClusterAccess
from tests.integration.rest.stack import running
from tests.support.waiting import wait_until

pytestmark = pytest.mark.anyio

DEFAULT_REQUESTS = {"cpu": "100m", "memory": "128Mi"}


def manifest(namespace: str, name: str, image: str) -> str:
    return json.dumps(
        {
            "apiVersion": "kubeweft.dev/v1",
            "kind": "WebApp",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"image": image},
        }
    )


async def kubectl(
    cluster: ClusterAccess, *args: str, input: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """kubectl in a worker thread: the webhook server it ends up calling runs on this
    event loop and must keep answering meanwhile."""
    run = functools.partial(cluster.kubectl, *args, input=input, check=check)
    return await anyio.to_thread.run_sync(run)


async def stored(cluster: ClusterAccess, namespace: str, name: str) -> dict[str, Any]:
    out = (await kubectl(cluster, "get", "webapp", name, "-n", namespace, "-o", "json")).stdout
    result: dict[str, Any] = json.loads(out)
    return result


def settings(tmp_path: Path, **more: Any) -> dict[str, Any]:
    return {
        "state_dir": tmp_path / "state",
        "webhook_certificates": "local",
        "webhook_port": 0,
        **more,
    }


async def test_kubectl_and_rest_get_the_same_denial_and_the_same_defaults(
    local_cluster: ClusterAccess,
    namespace: str,
    tmp_path: Path,
    webhook_configurations: tuple[str, ...],
) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path / 'kubeweft.db'}"
    async with running(local_cluster, database, **settings(tmp_path)) as stack:
        assert stack.process.info.webhook_url is not None
        assert stack.process.info.webhook_url.startswith("https://127.0.0.1:")

        # kubectl: the API server calls the validating webhook, which denies.
        denied = await kubectl(
            local_cluster,
            "apply",
            "-f",
            "-",
            input=manifest(namespace, "bare", "nginx"),
            check=False,
        )
        assert denied.returncode != 0
        # (kubectl prints a 422 with causes as "is invalid: <field>: <message>"; the
        # message is the webhook's own words.)
        assert 'webapps "bare" is invalid' in denied.stderr
        assert "spec.image: 'nginx' has no tag" in denied.stderr
        latest = await kubectl(
            local_cluster,
            "apply",
            "-f",
            "-",
            input=manifest(namespace, "l", "nginx:latest"),
            check=False,
        )
        assert "uses the latest tag" in latest.stderr

        # REST: the same rule before the write, as a problem naming spec.image.
        body = {"name": "bare", "namespace": namespace, "spec": {"image": "nginx"}}
        response = await stack.http.post("/api/webapps", json=body)
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert [e["field"] for e in problem["errors"]] == ["spec.image"]
        assert "has no tag" in problem["errors"][0]["message"]

        # Defaulting through the API server (kubectl) and through REST, read back from
        # the API server.
        await kubectl(
            local_cluster, "apply", "-f", "-", input=manifest(namespace, "kc", "nginx:1.27")
        )
        assert (await stored(local_cluster, namespace, "kc"))["spec"]["resources"] == {
            "requests": DEFAULT_REQUESTS
        }
        body = {"name": "rest", "namespace": namespace, "spec": {"image": "nginx:1.27"}}
        assert (await stack.http.post("/api/webapps", json=body)).status_code == 201
        assert (await stored(local_cluster, namespace, "rest"))["spec"]["resources"] == {
            "requests": DEFAULT_REQUESTS
        }

        # A REST patch is checked with the old object: a new untagged image is refused.
        patch = await stack.http.patch(
            f"/api/webapps/{namespace}/rest",
            json={"spec": {"image": "nginx:latest"}},
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert patch.status_code == 422
        assert [e["field"] for e in patch.json()["errors"]] == ["spec.image"]


async def test_with_the_webhook_down_creation_fails_closed_outside_the_excluded_namespaces(
    local_cluster: ClusterAccess,
    namespace: str,
    tmp_path: Path,
    webhook_configurations: tuple[str, ...],
) -> None:
    own = f"{namespace}-own"
    local_cluster.kubectl("create", "namespace", own)
    database = f"sqlite+aiosqlite:///{tmp_path / 'kubeweft.db'}"
    try:
        async with running(
            local_cluster, database, **settings(tmp_path, webhook_namespace=own)
        ) as stack:
            assert stack.process.info.webhook_url is not None
        # The process has stopped; its configurations stay, as a crashed pod's would.
        for configuration in webhook_configurations:
            local_cluster.kubectl("get", configuration)

        refused = await kubectl(
            local_cluster,
            "apply",
            "-f",
            "-",
            input=manifest(namespace, "w", "nginx:1.27"),
            check=False,
        )
        assert refused.returncode != 0
        assert "failed calling webhook" in refused.stderr

        # The process's own namespace and kube-system are outside the webhooks' reach.
        for where in (own, "kube-system"):
            wait_until(
                lambda where=where: (
                    local_cluster.kubectl(
                        "apply", "-f", "-", input=manifest(where, "w", "nginx:1.27"), check=False
                    ).returncode
                    == 0
                ),
                what=f"a WebApp admitted in {where}",
                timeout=10,
            )
    finally:
        local_cluster.kubectl("delete", "--ignore-not-found", "webapp", "w", "-n", "kube-system")
        local_cluster.kubectl("delete", "namespace", own, "--wait=false")
