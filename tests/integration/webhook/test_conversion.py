"""WebApp's two versions on the real API server, converted by the process's webhook
server (``local`` certificates): ``kubectl get webapps.v1alpha1.kubeweft.dev`` works,
a round trip through v1alpha1 loses no port, and objects stored as v1alpha1 by the old
single-version CRD keep working after the upgrade to v1."""

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from kubeweft.api.conversion import CONVERSION_DATA
from kubeweft.application import App
from kubeweft.codegen.crd import crd_for
from kubeweft.examples.webapp.api import v1, v1alpha1
from kubeweft.localcluster import ClusterAccess
from tests.integration.rest.stack import running
from tests.integration.webhook.test_local_webhooks import kubectl, settings
from tests.support.crds import install_crd
from tests.support.waiting import wait_until, wait_until_async

pytestmark = pytest.mark.anyio

TWO_PORTS = [
    {"name": "http", "port": 8080, "protocol": "TCP"},
    {"name": "metrics", "port": 9100, "protocol": "TCP"},
]


def database(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'kubeweft.db'}"


async def get_json(cluster: ClusterAccess, *args: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((await kubectl(cluster, "get", *args, "-o", "json")).stdout)
    return result


async def test_a_v1_object_read_and_written_through_v1alpha1_loses_nothing(
    local_cluster: ClusterAccess,
    webapp_crd: str,
    namespace: str,
    tmp_path: Path,
    webhook_configurations: tuple[str, ...],
) -> None:
    manifest = {
        "apiVersion": "kubeweft.dev/v1",
        "kind": "WebApp",
        "metadata": {"name": "shop", "namespace": namespace},
        "spec": {"image": "nginx:1.27", "ports": TWO_PORTS},
    }
    async with running(
        local_cluster, database(tmp_path), **settings(tmp_path), enable_controller=False
    ):
        await kubectl(local_cluster, "apply", "-f", "-", input=json.dumps(manifest))
        old = await get_json(
            local_cluster, "webapps.v1alpha1.kubeweft.dev", "shop", "-n", namespace
        )
        assert old["apiVersion"] == "kubeweft.dev/v1alpha1"
        assert old["spec"]["port"] == 8080
        assert "ports" not in old["spec"]
        assert "metrics" in old["metadata"]["annotations"][CONVERSION_DATA]
        table = await kubectl(
            local_cluster, "get", "webapps.v1alpha1.kubeweft.dev", "-n", namespace
        )
        assert table.stdout.splitlines()[1].split()[:3] == ["shop", "nginx:1.27", "1"]

        # Written back through v1alpha1, whole (PUT) and as a patch.
        old["spec"]["replicas"] = 2
        await kubectl(local_cluster, "replace", "-f", "-", input=json.dumps(old))
        await kubectl(
            local_cluster, "patch", "webapps.v1alpha1.kubeweft.dev", "shop", "-n", namespace,
            "--type=merge", "-p", json.dumps({"spec": {"image": "nginx:1.28"}}),
        )  # fmt: skip

        now = await get_json(local_cluster, "webapps.v1.kubeweft.dev", "shop", "-n", namespace)
        assert now["spec"]["ports"] == TWO_PORTS
        assert (now["spec"]["replicas"], now["spec"]["image"]) == (2, "nginx:1.28")
        assert CONVERSION_DATA not in now["metadata"].get("annotations", {})

        # A port changed through v1alpha1 is the first port of v1; the other stays.
        await kubectl(
            local_cluster, "patch", "webapps.v1alpha1.kubeweft.dev", "shop", "-n", namespace,
            "--type=merge", "-p", json.dumps({"spec": {"port": 8081}}),
        )  # fmt: skip
        now = await get_json(local_cluster, "webapps.v1.kubeweft.dev", "shop", "-n", namespace)
        assert [p["port"] for p in now["spec"]["ports"]] == [8081, 9100]


# --- upgrade: the old single-version CRD, objects stored as v1alpha1, then v1 ----------------
#
# CRDs are cluster-wide, and the session's WebApp CRD cannot go back to v1alpha1 alone
# once v1 is stored: the upgrade runs WebApp's own types and conversion in a group of its
# own.

GROUP = "upgrade.kubeweft.test"


class UpgradedWebApp(v1.WebApp):
    model_info = dataclasses.replace(v1.WebApp.model_info, group=GROUP)


class OldWebApp(v1alpha1.WebApp):
    model_info = dataclasses.replace(v1alpha1.WebApp.model_info, group=GROUP)

    def convert_to(self, restored: v1.WebApp | None) -> v1.WebApp:
        return UpgradedWebApp.model_validate(super().convert_to(restored).to_dict())


@pytest.fixture
def old_crd(local_cluster: ClusterAccess, tmp_path: Path) -> Iterator[str]:
    """The v1alpha1-only CRD as it was before v1, installed; deleted after the test."""
    path = tmp_path / "old-crd.json"
    path.write_text(json.dumps(crd_for(OldWebApp)))
    name = OldWebApp.model_info.crd_name
    install_crd(local_cluster, path, name)
    try:
        yield name
    finally:
        local_cluster.kubectl("delete", "crd", name, "--wait=false")


async def test_objects_stored_as_v1alpha1_keep_working_after_the_upgrade_to_v1(
    local_cluster: ClusterAccess, old_crd: str, namespace: str, tmp_path: Path
) -> None:
    base = f"/apis/{GROUP}"
    with local_cluster.http() as http:
        for name, port in (("a", 8080), ("b", 9000)):
            body = {
                "apiVersion": f"{GROUP}/v1alpha1",
                "kind": "WebApp",
                "metadata": {"name": name},
                "spec": {"image": "nginx:1.27", "port": port},
            }
            created = http.post(f"{base}/v1alpha1/namespaces/{namespace}/webapps", json=body)
            assert created.status_code == 201, created.text

    app = App("upgrade")
    app.add_model(UpgradedWebApp, spokes=(OldWebApp,))
    async with running(
        local_cluster, database(tmp_path), app=app, **settings(tmp_path), enable_controller=False
    ) as stack:
        crd = await get_json(local_cluster, "crd", old_crd)
        assert crd["status"]["storedVersions"] == ["v1alpha1", "v1"]
        assert [(v["name"], v["storage"]) for v in crd["spec"]["versions"]] == [
            ("v1", True),
            ("v1alpha1", False),
        ]

        def read_and_update() -> None:
            """In a worker thread: the webhook server answers on this event loop."""
            with local_cluster.http() as http:
                # Read as v1: the stored v1alpha1 objects come through the webhook (once
                # the API server has taken in the CRD's new conversion).
                listed = wait_until(
                    lambda: http.get(f"{base}/v1/namespaces/{namespace}/webapps"),
                    accept=lambda response: response.status_code == 200,
                    what="a list of v1 WebApps stored as v1alpha1",
                )
                items = listed.json()["items"]
                assert {i["metadata"]["name"]: i["spec"]["ports"] for i in items} == {
                    "a": [{"name": "http", "port": 8080, "protocol": "TCP"}],
                    "b": [{"name": "http", "port": 9000, "protocol": "TCP"}],
                }
                # Updated as v1 (now stored as v1) with a second port.
                merge = {"Content-Type": "application/merge-patch+json"}
                patched = http.patch(
                    f"{base}/v1/namespaces/{namespace}/webapps/a",
                    json={"spec": {"ports": TWO_PORTS}},
                    headers=merge,
                )
                assert patched.status_code == 200, patched.text
                old = http.get(f"{base}/v1alpha1/namespaces/{namespace}/webapps/a").json()
                assert old["spec"]["port"] == 8080
                # And still updated through v1alpha1, the second port kept.
                scaled = http.patch(
                    f"{base}/v1alpha1/namespaces/{namespace}/webapps/a",
                    json={"spec": {"replicas": 3}},
                    headers=merge,
                )
                assert scaled.status_code == 200, scaled.text
                now = http.get(f"{base}/v1/namespaces/{namespace}/webapps/a").json()
                assert (now["spec"]["replicas"], now["spec"]["ports"]) == (3, TWO_PORTS)

        await anyio.to_thread.run_sync(read_and_update)

        # The REST layer serves the hub version from its cache, the old objects too.
        async def rest_ports() -> Any:
            response = await stack.http.get(f"/api/webapps/{namespace}/b")
            return response.json()["spec"]["ports"] if response.status_code == 200 else None

        ports = await wait_until_async(rest_ports, what="the REST layer serving b")
        assert ports == [{"name": "http", "port": 9000, "protocol": "TCP"}]
