"""A GET right after this process's own POST, PATCH or DELETE shows the write, no gap.

Reads come from the informer cache; the API waits (bounded) for the cache to reach the
write's resourceVersion and falls back to the API server otherwise. Either way the
client never sees the older object.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kubeweft.examples.webapp.api.v1 import WebApp
from kubeweft.localcluster import ClusterAccess
from tests.integration.rest.stack import running
from tests.support.waiting import wait_until_async

pytestmark = [pytest.mark.anyio, pytest.mark.localcluster]

PAIRS = 50


async def test_create_then_get_and_patch_then_get(
    local_cluster: ClusterAccess, namespace: str, database_url: str
) -> None:
    async with running(local_cluster, database_url) as app:
        http = app.http
        for i in range(PAIRS):
            body = {"name": f"ryw-{i}", "namespace": namespace, "spec": {"image": f"img:{i}"}}
            created = await http.post("/api/webapps", json=body)
            assert created.status_code == 201, created.text
            got = await http.get(f"/api/webapps/{namespace}/ryw-{i}")
            assert got.status_code == 200, f"create-then-get #{i}: {got.status_code}"
            assert got.json()["uid"] == created.json()["uid"]
        for i in range(PAIRS):
            patched = await http.patch(
                f"/api/webapps/{namespace}/ryw-0", json={"spec": {"image": f"next:{i}"}}
            )
            assert patched.status_code == 200, patched.text
            got = await http.get(f"/api/webapps/{namespace}/ryw-0")
            assert got.json()["spec"]["image"] == f"next:{i}", f"patch-then-get #{i}"
            assert int(got.json()["resourceVersion"]) >= int(patched.json()["resourceVersion"])
        listed = await http.get(f"/api/webapps/{namespace}")
        assert len(listed.json()["items"]) == PAIRS


FINALIZER = "test.kubeweft.dev/hold"


async def test_delete_then_get(
    local_cluster: ClusterAccess, namespace: str, tmp_path: Path
) -> None:
    """204 when the object is gone, and a GET right after is 404; 202 when a finalizer
    holds it, and a GET right after shows it deleting."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'kubeweft.db'}"
    async with running(local_cluster, url, enable_controller=False) as app:
        http = app.http
        for i in range(PAIRS // 5):
            body = {"name": f"gone-{i}", "namespace": namespace, "spec": {"image": "x:1"}}
            assert (await http.post("/api/webapps", json=body)).status_code == 201
            assert (await http.get(f"/api/webapps/{namespace}/gone-{i}")).status_code == 200
            deleted = await http.delete(f"/api/webapps/{namespace}/gone-{i}")
            assert deleted.status_code == 204, deleted.text
            got = await http.get(f"/api/webapps/{namespace}/gone-{i}")
            assert got.status_code == 404, f"delete-then-get #{i}: {got.status_code}"

        body = {"name": "held", "namespace": namespace, "spec": {"image": "x:1"}}
        assert (await http.post("/api/webapps", json=body)).status_code == 201
        await app.client.patch(
            WebApp, "held", {"metadata": {"finalizers": [FINALIZER]}}, namespace=namespace
        )
        deleted = await http.delete(f"/api/webapps/{namespace}/held")
        assert deleted.status_code == 202, deleted.text
        got = await http.get(f"/api/webapps/{namespace}/held")
        assert got.status_code == 200
        assert got.json()["deleting"] is True

        # The finalizer's owner lets go: the object goes, and the API says so.
        await app.client.patch(
            WebApp, "held", {"metadata": {"finalizers": None}}, namespace=namespace
        )

        async def gone() -> int:
            return (await http.get(f"/api/webapps/{namespace}/held")).status_code

        await wait_until_async(gone, accept=lambda code: code == 404, what="held deleted")
