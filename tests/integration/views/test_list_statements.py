"""Listing 1,000 WebApps with their latest metrics costs one SQL statement per page,
whatever the page and data size (counted with SQLAlchemy's cursor events)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import anyio
import pytest
from sqlalchemy import event

from kubeweft.api import ObjectMeta
from kubeweft.db import records
from kubeweft.examples.webapp.api.v1 import WebApp, WebAppSpec
from kubeweft.localcluster import ClusterAccess
from kubeweft.repositories import metrics, unit_of_work
from tests.integration.rest.stack import running

pytestmark = [pytest.mark.anyio, pytest.mark.localcluster, pytest.mark.slow]

COUNT = 1000


async def test_list_statement_count_is_constant(
    local_cluster: ClusterAccess, namespace: str, database_url: str
) -> None:
    async with running(local_cluster, database_url, enable_controller=False) as app:
        limiter = anyio.CapacityLimiter(32)
        uids: list[str] = []

        async def create(i: int) -> None:
            async with limiter:
                obj = WebApp(
                    metadata=ObjectMeta(name=f"app-{i:04d}", namespace=namespace),
                    spec=WebAppSpec(image="nginx"),
                )
                created = await app.client.create(obj)
                uids.append(created.metadata.uid)

        async with anyio.create_task_group() as tg:
            for i in range(COUNT):
                tg.start_soon(create, i)
        now = datetime.now(UTC)
        samples = [
            records.MetricSample(uid=uid, name=name, ts=now, value=float(n))
            for n, uid in enumerate(uids)
            for name in ("cpu", "requests")
        ]
        async with unit_of_work(app.database) as session:
            await metrics.record_samples(session, samples)

        statements: list[str] = []

        def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            statements.append(statement)

        event.listen(app.database.engine.sync_engine, "before_cursor_execute", count)
        try:
            per_page: dict[int, int] = {}
            for limit in (10, 100, 1000):
                statements.clear()
                response = await app.http.get(f"/api/webapps/{namespace}", params={"limit": limit})
                assert response.status_code == 200
                items = response.json()["items"]
                assert len(items) == limit
                assert all(set(item["latestMetrics"]) == {"cpu", "requests"} for item in items)
                per_page[limit] = len(statements)
        finally:
            event.remove(app.database.engine.sync_engine, "before_cursor_execute", count)
        assert per_page == {10: 1, 100: 1, 1000: 1}, per_page
