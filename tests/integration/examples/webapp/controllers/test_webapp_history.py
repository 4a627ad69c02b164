"""WebApp's change history is written exactly once per generation — across a failed
status write (a retry after the Deployment was updated) and an operator restart — on
the local control plane and a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from kubeweft.db import Database, RecordWriter
from kubeweft.examples.webapp.api.v1 import WebApp
from kubeweft.examples.webapp.controllers.webapp import WebAppReconciler
from kubeweft.localcluster.access import ClusterAccess
from kubeweft.repositories import history as history_repo
from kubeweft.repositories import reconcile_log
from kubeweft.runtime import errors
from kubeweft.runtime.client import Client
from tests.integration.examples.webapp.controllers.harness import (
    DEADLINE,
    running_controller,
    webapp,
)
from tests.support.waiting import wait_until_async

pytestmark = [pytest.mark.anyio, pytest.mark.localcluster, pytest.mark.usefixtures("webapp_crd")]


class FailStatusOnce:
    """Delegates to the client, but the first status write after ``arm`` fails — the
    crash window between updating the Deployment and acknowledging the generation."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.armed = False
        self.failed = 0

    async def create(self, obj: Any) -> Any:
        return await self.inner.create(obj)

    async def update(self, obj: Any) -> Any:
        return await self.inner.update(obj)

    async def patch(self, kind: Any, name: str, patch: Any, **options: Any) -> Any:
        if self.armed and options.get("subresource") == "status":
            self.armed = False
            self.failed += 1
            raise errors.ConnectionFailed(0, "", "injected: connection reset")
        return await self.inner.patch(kind, name, patch, **options)


async def converged(client: Client, namespace: str, image: str) -> WebApp | None:
    obj = await client.get(WebApp, "hist", namespace)
    ready = {c.type: c.status.value for c in obj.status.conditions}.get("Ready")
    if (
        obj.spec.image == image
        and obj.status.observed_generation == obj.metadata.generation
        and ready == "True"
    ):
        return obj
    return None


async def set_image(client: Client, namespace: str, image: str) -> None:
    await client.patch(WebApp, "hist", {"spec": {"image": image}}, namespace=namespace)
    await wait_until_async(
        lambda: converged(client, namespace, image),
        what=f"converged on {image}",
        timeout=DEADLINE,
    )


async def test_four_changes_give_five_history_rows(
    local_cluster: ClusterAccess, namespace: str, database: Database
) -> None:
    writer = RecordWriter(database)
    failing: list[FailStatusOnce] = []

    def with_failing_status(real: WebAppReconciler) -> WebAppReconciler:
        failing.append(FailStatusOnce(real.client.writer))
        real.client.writer = failing[-1]
        return real

    kubeconfig = local_cluster.kubeconfig_path
    async with anyio.create_task_group() as group:
        await group.start(writer.run)
        async with running_controller(
            kubeconfig, namespace, records=writer, reconciler=with_failing_status
        ) as run:
            created = await run.client.create(webapp("hist", namespace, replicas=1))
            await wait_until_async(
                lambda: converged(run.client, namespace, "nginx:1"),
                what="ready",
                timeout=DEADLINE,
            )
            failing[0].armed = True
            await set_image(run.client, namespace, "nginx:2")
            assert failing[0].failed == 1
        # The operator restarts: a new manager, cache and reconciler, no memory.
        async with running_controller(kubeconfig, namespace, records=writer) as run:
            await set_image(run.client, namespace, "nginx:3")
            await run.client.patch(
                WebApp,
                "hist",
                {"spec": {"ports": [{"name": "http", "port": 9090}]}},
                namespace=namespace,
            )
            final = await wait_until_async(
                lambda: _port_applied(run.client, namespace, 9090),
                what="port change applied",
                timeout=DEADLINE,
            )
            await set_image(run.client, namespace, "nginx:4")
        assert await writer.flush(timeout_s=60)
        group.cancel_scope.cancel()

    uid = created.metadata.uid
    assert uid is not None
    async with database.session() as session:
        rows = await history_repo.history_by_uid(session, uid)
        attempts = await reconcile_log.attempts_by_uid(session, uid, limit=1000)
    rows.sort(key=lambda r: r.generation)
    # One row per generation, the port-only one included, each with its diff.
    assert [(r.generation, r.spec["image"], r.spec["replicas"]) for r in rows] == [
        (1, "nginx:1", 1),
        (2, "nginx:2", 1),
        (3, "nginx:3", 1),
        (4, "nginx:3", 1),
        (5, "nginx:4", 1),
    ]
    assert final.metadata.generation == 4
    assert [r.patch for r in rows] == [
        None,
        [{"op": "replace", "path": "/image", "value": "nginx:2"}],
        [{"op": "replace", "path": "/image", "value": "nginx:3"}],
        [{"op": "replace", "path": "/ports/0/port", "value": 9090}],
        [{"op": "replace", "path": "/image", "value": "nginx:4"}],
    ]
    assert all(r.source == "reconciler" for r in rows)
    # The injected failure is in the reconcile log, with its error text.
    assert any(a.outcome == "error" and "injected" in (a.error or "") for a in attempts)


async def _port_applied(client: Client, namespace: str, port: int) -> WebApp | None:
    obj = await client.get(WebApp, "hist", namespace)
    if obj.spec.ports[0].port == port and obj.status.observed_generation == obj.metadata.generation:
        return obj
    return None
