"""End to end: PostgreSQL stops for ~30 s while WebApps are created and changed.

The reconciler's database is a side channel (SPEC §1, §5): while PostgreSQL is down
the cluster must still converge, the records must wait in the ``RecordWriter``'s
bounded buffer (visible on ``kubeweft_records_pending``, none dropped), and once
PostgreSQL is back every history row, reconcile attempt and metric sample of the
outage must be in the database — each change recorded exactly once.

Everything is real: the local control plane, the WebApp controller under a real
``Manager`` (in this process), the ``RecordWriter`` and a private PostgreSQL server
that the test stops and starts (same port, same data directory).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import anyio
import pytest
from lightkube.resources.apps_v1 import Deployment

from kubeweft.db import Database, RecordWriter
from kubeweft.db.migrate import migrate
from kubeweft.examples.webapp.api.v1 import WebApp
from kubeweft.examples.webapp.controllers.webapp_status import CONDITION_READY
from kubeweft.localcluster.access import ClusterAccess
from kubeweft.repositories import history as history_repo
from kubeweft.repositories import metrics as metrics_repo
from kubeweft.repositories import reconcile_log
from kubeweft.runtime.client import Client
from kubeweft.runtime.metrics import REGISTRY
from tests.integration.examples.webapp.controllers.harness import running_controller, webapp
from tests.support.postgres import PostgresServer
from tests.support.waiting import wait_until_async

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.localcluster,
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.usefixtures("webapp_crd"),
]

#: How long PostgreSQL stays down (at least; longer if convergence takes longer).
OUTAGE_S = 30.0
#: Generous: six WebApps on a shared two-core machine. Never a speed assertion.
DEADLINE = 180.0
METRIC_NAMES = {"ready_replicas", "desired_replicas"}


@dataclass(frozen=True)
class Change:
    """One generation that changed image or replicas, as its history row must show it."""

    generation: int
    image: str
    replicas: int
    previous_image: str | None
    previous_replicas: int | None


@dataclass
class Tracked:
    """A WebApp the test made, and every history-worthy generation it went through."""

    name: str
    uid: str
    changes: list[Change]

    @property
    def image(self) -> str:
        return self.changes[-1].image

    @property
    def replicas(self) -> int:
        return self.changes[-1].replicas


@pytest.fixture
async def outage_database(postgres_server: PostgresServer) -> AsyncIterator[Database]:
    """A fresh migrated database on the session's server; the server is up again after."""
    url = postgres_server.create_database("outage")
    await migrate(url)
    db = Database(url).connect()
    try:
        yield db
    finally:
        await db.aclose()
        if not postgres_server.running:
            postgres_server.start()
        postgres_server.drop_database(url)


def gauge(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


async def converged(client: Client, namespace: str, app: Tracked) -> bool:
    """The WebApp has the expected spec, observed it, is Ready, and its Deployment agrees."""
    obj = await client.get(WebApp, app.name, namespace)
    ready = {c.type: c.status.value for c in obj.status.conditions}.get(CONDITION_READY)
    if (
        obj.spec.image != app.image
        or obj.spec.replicas != app.replicas
        or obj.status.observed_generation != obj.metadata.generation
        or obj.metadata.generation != app.changes[-1].generation
        or ready != "True"
    ):
        return False
    deployment = await client.get(Deployment, app.name, namespace)
    assert deployment.spec is not None
    assert deployment.spec.template.spec is not None
    images = [c.image for c in deployment.spec.template.spec.containers]
    return deployment.spec.replicas == app.replicas and images == [app.image]


async def all_converged(client: Client, namespace: str, apps: list[Tracked]) -> bool:
    for app in apps:
        if not await converged(client, namespace, app):
            return False
    return True


async def create(client: Client, namespace: str, name: str, replicas: int) -> Tracked:
    created = await client.create(webapp(name, namespace, image="nginx:1", replicas=replicas))
    assert created.metadata.uid
    assert created.metadata.generation is not None
    first = Change(created.metadata.generation, "nginx:1", replicas, None, None)
    return Tracked(name, created.metadata.uid, [first])


async def change(
    client: Client,
    namespace: str,
    app: Tracked,
    *,
    image: str | None = None,
    replicas: int | None = None,
) -> None:
    """Patch image and/or replicas, and remember the generation the patch made."""
    spec: dict[str, object] = {}
    if image is not None:
        spec["image"] = image
    if replicas is not None:
        spec["replicas"] = replicas
    patched = await client.patch(WebApp, app.name, {"spec": spec}, namespace=namespace)
    last = app.changes[-1]
    generation = patched.metadata.generation
    assert generation is not None
    assert generation > last.generation
    app.changes.append(
        Change(
            generation,
            last.image if image is None else image,
            last.replicas if replicas is None else replicas,
            last.image,
            last.replicas,
        )
    )


async def test_cluster_converges_and_records_wait_out_a_postgres_outage(
    local_cluster: ClusterAccess,
    namespace: str,
    postgres_server: PostgresServer,
    outage_database: Database,
) -> None:
    writer = RecordWriter(outage_database)
    dropped_before = gauge("kubeweft_records_dropped_total")
    peak_pending = 0
    peak_gauge = 0.0

    async def records_pending() -> bool:
        nonlocal peak_pending, peak_gauge
        peak_pending = max(peak_pending, writer.pending)
        peak_gauge = max(peak_gauge, gauge("kubeweft_records_pending"))
        return writer.pending > 0 and gauge("kubeweft_records_pending") > 0

    async def drained() -> bool:
        return writer.pending == 0

    async with anyio.create_task_group() as group:
        await group.start(writer.run)
        try:
            async with running_controller(
                local_cluster.kubeconfig_path, namespace, records=writer
            ) as run:
                client = run.client
                # 1. Three WebApps, Ready, and their records written while PostgreSQL is up.
                before = [await create(client, namespace, f"app-{i}", 1) for i in range(3)]
                await wait_until_async(
                    lambda: all_converged(client, namespace, before),
                    what="the first three WebApps Ready",
                    timeout=DEADLINE,
                )
                assert await writer.flush(timeout_s=DEADLINE), "records not written before outage"
                failures_before = writer.failures

                # 2. PostgreSQL goes away; the cluster keeps converging.
                outage_started = datetime.now(UTC)
                stopped_at = time.monotonic()
                postgres_server.stop()
                try:
                    during = [await create(client, namespace, f"app-{i}", 1) for i in range(3, 6)]
                    for app in before:
                        await change(client, namespace, app, image="nginx:2")
                    apps = before + during
                    await wait_until_async(
                        lambda: all_converged(client, namespace, apps),
                        what="six WebApps converged with PostgreSQL down",
                        timeout=DEADLINE,
                    )
                    # A second, separate generation: replicas only.
                    await change(client, namespace, before[0], replicas=2)
                    await wait_until_async(
                        lambda: converged(client, namespace, before[0]),
                        what="app-0 scaled with PostgreSQL down",
                        timeout=DEADLINE,
                    )
                    converged_s = time.monotonic() - stopped_at
                    assert postgres_server.running is False
                    assert await all_converged(client, namespace, apps)
                    await wait_until_async(
                        records_pending,
                        what="records waiting for PostgreSQL",
                        timeout=DEADLINE,
                    )
                    await anyio.sleep(max(0.0, OUTAGE_S - (time.monotonic() - stopped_at)))
                    await records_pending()
                    assert writer.failures > failures_before, "the writer never saw the outage"
                    assert writer.dropped == 0
                    assert gauge("kubeweft_records_dropped_total") == dropped_before
                finally:
                    outage_ended = datetime.now(UTC)
                    outage_s = time.monotonic() - stopped_at
                    postgres_server.start()
                restarted_at = time.monotonic()

                # 3. PostgreSQL is back: everything that waited is written.
                await wait_until_async(
                    drained,
                    what="records drained after the outage",
                    timeout=DEADLINE,
                )
                drain_s = time.monotonic() - restarted_at
                assert writer.dropped == 0
                assert gauge("kubeweft_records_dropped_total") == dropped_before
        finally:
            group.cancel_scope.cancel()

    print(
        f"\nall changes converged {converged_s:.1f} s into the outage; "
        f"outage {outage_s:.1f} s; records pending at peak {peak_pending} "
        f"(gauge {peak_gauge:.0f}); drained {drain_s:.1f} s after PostgreSQL returned; "
        f"{writer.failures} failed write attempts, {writer.written} records written"
    )
    async with outage_database.session() as session:
        for app in apps:
            rows = await history_repo.history_by_uid(session, app.uid, limit=1000)
            rows.sort(key=lambda r: r.generation)
            got = [
                Change(
                    r.generation,
                    r.spec["image"],
                    r.spec["replicas"],
                    before.spec["image"] if before else None,
                    before.spec["replicas"] if before else None,
                )
                for before, r in zip([None, *rows], rows, strict=False)
            ]
            assert got == app.changes, app.name
            assert all(r.source == "reconciler" for r in rows)

            attempts = await reconcile_log.attempts_by_uid(
                session, app.uid, since=outage_started, until=outage_ended, limit=1000
            )
            assert attempts, f"{app.name}: no reconcile attempt recorded from the outage"
            assert any(a.outcome == "success" for a in attempts), app.name

            if app in during:  # samples record changes: a new WebApp's first values
                series = await metrics_repo.metric_series(
                    session, app.uid, since=outage_started, until=outage_ended
                )
                assert set(series) >= METRIC_NAMES, f"{app.name}: outage metrics {series}"
        scaled = await metrics_repo.metric_series(
            session,
            before[0].uid,
            since=outage_started,
            until=outage_ended,
            names=["desired_replicas"],
        )
        assert 2.0 in {s.value for s in scaled["desired_replicas"]}
