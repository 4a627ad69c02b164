"""An API-only process (``kubeweft run --no-controller``) keeps the detail's and the
list's database rows between writes, and still shows a write made by another process:
here another engine on the same database, which this process's writer never sees. On
SQLite and PostgreSQL, through the real process and HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from kubeweft.db.engine import Database
from kubeweft.db.records import MetricSample
from kubeweft.db.types import utcnow
from kubeweft.localcluster import ClusterAccess
from kubeweft.repositories import metrics, unit_of_work
from tests.integration.rest.stack import running
from tests.support.statements import counting
from tests.support.waiting import wait_until_async

pytestmark = [pytest.mark.anyio, pytest.mark.localcluster]


async def test_an_api_only_process_keeps_reads_and_shows_another_process_writes(
    local_cluster: ClusterAccess,
    namespace: str,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with running(local_cluster, database_url, enable_controller=False) as app:
        body = {"name": "kept", "namespace": namespace, "spec": {"image": "nginx:1.27"}}
        created = await app.http.post("/api/webapps", json=body)
        assert created.status_code == 201, created.text
        uid = created.json()["uid"]
        detail, page = f"/api/webapps/{namespace}/kept", f"/api/webapps/{namespace}"

        async def kept() -> bool:
            """A detail and a list read served without a statement."""
            await app.http.get(detail)
            await app.http.get(page)
            with counting(app.database, monkeypatch) as reads:
                assert (await app.http.get(detail)).status_code == 200
                assert (await app.http.get(page)).status_code == 200
            return reads == []

        await wait_until_async(kept, what="the process to keep its reads")

        async with Database(database_url) as elsewhere, unit_of_work(elsewhere) as session:
            await metrics.record_samples(session, [MetricSample(uid, "cpu", 5.0, utcnow())])

        async def shown() -> tuple[Any, Any]:
            cpu = (await app.http.get(detail)).json()["metrics"].get("cpu")
            items = (await app.http.get(page)).json()["items"]
            return cpu and cpu["latest"], items[0]["latestMetrics"].get("cpu")

        got = await wait_until_async(
            shown, what="the other process's sample", accept=lambda got: got[0] == 5.0
        )
        assert got[1] is not None
        assert got[1]["value"] == 5.0
