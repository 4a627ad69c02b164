"""The seed's REST flows end to end: real control plane, real database, real HTTP.

Parametrised over SQLite and PostgreSQL through the ``database_url`` fixture.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from kubeweft.localcluster import ClusterAccess
from tests.integration.rest.stack import DEV_USER, running
from tests.support.waiting import wait_until_async

pytestmark = [pytest.mark.anyio, pytest.mark.localcluster]


async def test_create_reconcile_detail_patch_annotate_delete(
    local_cluster: ClusterAccess, namespace: str, database_url: str
) -> None:
    async with running(local_cluster, database_url) as app:
        http = app.http
        created = await http.post(
            "/api/webapps",
            json={
                "name": "shop",
                "namespace": namespace,
                "spec": {"image": "nginx:1", "replicas": 2},
            },
        )
        assert created.status_code == 201, created.text
        assert created.headers["location"] == f"/api/webapps/{namespace}/shop"

        async def reconciled() -> dict[str, Any] | None:
            detail = (await http.get(f"/api/webapps/{namespace}/shop")).json()
            status = detail.get("status") or {}
            ready = status.get("readyReplicas") == 2 and detail["history"]
            return detail if ready else None

        detail = await wait_until_async(
            reconciled, timeout=120, what="the WebApp reconciled and Ready"
        )
        assert detail["uid"] == created.json()["uid"]
        conditions = {c["type"]: c["status"] for c in detail["status"]["conditions"]}
        assert conditions.get("Ready") == "True"
        assert detail["healthScore"] == 100
        first = detail["history"][0]
        assert (first["spec"]["image"], first["spec"]["replicas"], first["actor"]) == (
            "nginx:1",
            2,
            DEV_USER,
        )
        assert first["patch"] is None

        # Metrics arrive from the reconciler; the detail view aggregates the last 5 minutes.
        async def with_metrics() -> dict[str, Any] | None:
            body = (await http.get(f"/api/webapps/{namespace}/shop")).json()
            return body if body["metrics"] else None

        detail = await wait_until_async(with_metrics, timeout=60, what="metrics in the detail")
        for aggregate in detail["metrics"].values():
            assert aggregate["count"] >= 1
            assert aggregate["min"] <= aggregate["avg"] <= aggregate["max"]

        patched = await http.patch(
            f"/api/webapps/{namespace}/shop",
            json={"spec": {"image": "nginx:2"}},
            headers={"content-type": "application/merge-patch+json"},
        )
        assert patched.status_code == 200, patched.text
        assert patched.json()["spec"]["image"] == "nginx:2"

        async def history_of_patch() -> list[dict[str, Any]] | None:
            rows = (await http.get(f"/api/webapps/{namespace}/shop/history")).json()
            return rows if rows and rows[0]["spec"]["image"] == "nginx:2" else None

        rows = await wait_until_async(history_of_patch, what="the history row of the patch")
        assert rows[0]["actor"] == DEV_USER
        assert rows[0]["patch"] == [{"op": "replace", "path": "/image", "value": "nginx:2"}]

        note = await http.post(
            f"/api/webapps/{namespace}/shop/annotations", json={"body": "v2 out"}
        )
        assert note.status_code == 201
        detail = (await http.get(f"/api/webapps/{namespace}/shop")).json()
        assert [(a["author"], a["body"]) for a in detail["annotations"]] == [(DEV_USER, "v2 out")]

        events = await http.get(f"/api/webapps/{namespace}/shop/events")
        assert events.status_code == 200
        assert events.json(), "the reconciler records Events on the WebApp"

        deleted = await http.delete(f"/api/webapps/{namespace}/shop")
        assert deleted.status_code == 204  # no finalizer: gone at once (202: test_read_your_writes)

        async def gone() -> bool:
            return (await http.get(f"/api/webapps/{namespace}/shop")).status_code == 404

        await wait_until_async(gone, what="the WebApp gone")
        missing = await http.get(f"/api/webapps/{namespace}/shop/annotations")
        assert missing.status_code == 404


async def test_kubernetes_404_is_404(
    local_cluster: ClusterAccess, namespace: str, database_url: str
) -> None:
    async with running(local_cluster, database_url, enable_controller=False) as app:
        response = await app.http.get(f"/api/webapps/{namespace}/never-created")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 404


async def test_resource_without_database_rows_has_nulls_and_empty_lists(
    local_cluster: ClusterAccess, namespace: str, database_url: str
) -> None:
    # Without the controller nothing writes rows for this object.
    async with running(local_cluster, database_url, enable_controller=False) as app:
        manifest = (
            "apiVersion: kubeweft.dev/v1\nkind: WebApp\nmetadata:\n"
            f"  name: bare\n  namespace: {namespace}\nspec:\n  image: busybox\n"
        )
        await anyio.to_thread.run_sync(
            lambda: local_cluster.kubectl("apply", "-f", "-", input=manifest)
        )

        async def visible() -> dict[str, Any] | None:
            response = await app.http.get(f"/api/webapps/{namespace}/bare")
            return response.json() if response.status_code == 200 else None

        detail = await wait_until_async(visible, what="the WebApp visible through the API")
        assert detail["spec"]["image"] == "busybox"
        assert detail["history"] == []
        assert detail["metrics"] == {}
        assert detail["annotations"] == []
        assert detail["status"]["conditions"] == []
        listed = (await app.http.get(f"/api/webapps/{namespace}")).json()["items"]
        assert [(i["name"], i["latestMetrics"]) for i in listed] == [("bare", {})]


async def test_database_failure_is_500_problem(
    local_cluster: ClusterAccess, namespace: str, tmp_path: Any
) -> None:
    """SQLite variant: the database file is replaced by one without the schema."""
    db_file = tmp_path / "kubeweft.db"
    url = f"sqlite+aiosqlite:///{db_file}"
    async with running(local_cluster, url, enable_controller=False) as app:
        created = await app.http.post(
            "/api/webapps", json={"name": "a", "namespace": namespace, "spec": {"image": "x:1"}}
        )
        assert created.status_code == 201
        await app.database.aclose()
        db_file.unlink()
        db_file.write_bytes(b"this is not a database")
        app.database.connect()
        response = await app.http.get(f"/api/webapps/{namespace}/a")
        assert response.status_code == 500
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["type"].endswith("/database-unavailable")
        assert "sqlite" not in response.text.lower()
        assert "Traceback" not in response.text
        # The cluster side alone still answers where no database is involved.
        assert (await app.http.get(f"/api/webapps/{namespace}/nope")).status_code == 404


@pytest.mark.postgres
async def test_postgres_down_is_500_problem_and_recovers(
    local_cluster: ClusterAccess, namespace: str, postgres_server: Any
) -> None:
    url = postgres_server.create_database("down")
    try:
        async with running(local_cluster, url, enable_controller=False) as app:
            created = await app.http.post(
                "/api/webapps", json={"name": "a", "namespace": namespace, "spec": {"image": "x:1"}}
            )
            assert created.status_code == 201
            postgres_server.stop()
            try:
                response = await app.http.get(f"/api/webapps/{namespace}/a")
                assert response.status_code == 500
                assert response.json()["type"].endswith("/database-unavailable")
                ready = await app.probes.get("/readyz")
                assert ready.status_code == 503
                assert "database" in ready.json()["failed"]
            finally:
                postgres_server.start()

            async def recovered() -> bool:
                return (await app.http.get(f"/api/webapps/{namespace}/a")).status_code == 200

            await wait_until_async(recovered, timeout=30, what="the API recovered")
    finally:
        postgres_server.drop_database(url)
