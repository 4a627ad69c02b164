"""A GET right after this process's own POST or PATCH shows the write, with no gap.

Reads come from the informer cache; the API waits (bounded) for the cache to reach the
write's resourceVersion and falls back to the API server otherwise. Either way the
client never sees the older object.
"""

from __future__ import annotations

import pytest

from kubeweft.localcluster import ClusterAccess
from tests.integration.rest.stack import running

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
            assert int(got.json()["resource_version"]) >= int(patched.json()["resource_version"])
        listed = await http.get(f"/api/webapps/{namespace}")
        assert len(listed.json()["items"]) == PAIRS
