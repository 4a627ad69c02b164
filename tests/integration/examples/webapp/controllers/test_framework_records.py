"""The reconcile log and the change history are the framework's: a model other than
WebApp, registered with ``kubeweft.App.add_controller`` and reconciled by a reconciler
without a line of database code, gets one reconcile-log row per reconcile and one
history row per generation (its spec, the RFC 6902 patch from the previous one and the
user who made the change) — on the local control plane's real API server and a real
database (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
import yaml

import kubeweft
from kubeweft.api.changes import CHANGED_BY_ANNOTATION, changed_by_value
from kubeweft.codegen import crd_for
from kubeweft.db import Database, RecordWriter
from kubeweft.localcluster.access import ClusterAccess
from kubeweft.repositories import history, reconcile_log
from kubeweft.runtime import errors
from kubeweft.runtime.cache import Cache, CacheOptions
from kubeweft.runtime.client import Client
from kubeweft.runtime.informer import InformerOptions
from kubeweft.runtime.manager import Manager, ManagerOptions
from kubeweft.runtime.reconcile import Request, Result
from kubeweft.settings import Settings
from tests.integration.examples.webapp.controllers.harness import DEADLINE
from tests.support.crds import install_crd
from tests.support.models import CronTab, crontab
from tests.support.waiting import wait_until_async

pytestmark = [pytest.mark.anyio, pytest.mark.localcluster]


@pytest.fixture(scope="module")
def crontab_crd(local_cluster: ClusterAccess, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The test-only CronTab CRD, installed and serving (left installed, as WebApp's)."""
    path = tmp_path_factory.mktemp("crd") / "crontab.yaml"
    path.write_text(yaml.safe_dump(crd_for(CronTab)))
    install_crd(local_cluster, path, CronTab.model_info.crd_name)
    return CronTab.model_info.crd_name


class CronTabReconciler:
    """Fails the first reconcile of generation 2, succeeds otherwise; no database code."""

    def __init__(self, context: kubeweft.ControllerContext) -> None:
        self.cache = context.cache
        self.seen: list[int] = []

    async def reconcile(self, request: Request) -> Result:
        try:
            obj = await self.cache.get(CronTab, request.name, request.namespace)
        except errors.NotFound:
            return Result()
        generation = obj.metadata.generation or 0
        self.seen.append(generation)
        if generation == 2 and self.seen.count(2) == 1:
            raise errors.ServerError(500, "InternalError", "injected")
        return Result()


async def test_a_model_of_its_own_gets_its_reconcile_log_and_history(
    local_cluster: ClusterAccess,
    crontab_crd: str,
    namespace: str,
    database: Database,
    tmp_path: Path,
) -> None:
    reconcilers: list[CronTabReconciler] = []
    app = kubeweft.App("it-records")
    app.add_model(CronTab)

    def build(context: kubeweft.ControllerContext) -> CronTabReconciler:
        reconcilers.append(CronTabReconciler(context))
        return reconcilers[-1]

    async def saw(generation: int, times: int) -> bool:
        return reconcilers[0].seen.count(generation) >= times

    app.add_controller(CronTab, build)
    writer = RecordWriter(database)
    settings = Settings(enable_api=False, state_dir=tmp_path, workers=1)
    async with Client.from_kubeconfig(local_cluster.kubeconfig_path) as client:
        cache = Cache(client, CacheOptions(defaults=InformerOptions(namespace=namespace)))
        manager = Manager(client, cache, ManagerOptions(graceful_shutdown_timeout=10.0))
        app.setup_controllers(manager, records=writer, settings=settings)
        async with anyio.create_task_group() as database_side:
            await database_side.start(writer.run)
            async with anyio.create_task_group() as group:
                await group.start(manager.run)
                created = await client.create(CronTab.model_validate(crontab("nightly", namespace)))
                await wait_until_async(lambda: saw(1, 1), what="generation 1", timeout=DEADLINE)
                # Generation 2, stamped as alice's the way the REST layer stamps it.
                first = await client.get(CronTab, "nightly", namespace)
                spec = first.spec.model_copy(update={"suspend": True})
                wire = spec.model_dump(mode="json", by_alias=True, exclude_none=True)
                stamp = {CHANGED_BY_ANNOTATION: changed_by_value("alice", wire)}
                await client.patch(
                    CronTab,
                    "nightly",
                    {"metadata": {"annotations": stamp}, "spec": {"suspend": True}},
                    namespace=namespace,
                )
                await wait_until_async(
                    lambda: saw(2, 2),
                    what="generation 2 retried after its error",
                    timeout=DEADLINE,
                )
                group.cancel_scope.cancel()  # the manager stops; its reconciles drain
            assert await writer.flush(timeout_s=60)
            database_side.cancel_scope.cancel()

    uid = created.metadata.uid
    assert uid is not None
    async with database.session() as session:
        rows = await reconcile_log.attempts_by_uid(session, uid, limit=1000)
        changes = await history.history_by_uid(session, uid)
    rows.reverse()  # oldest first
    assert len(rows) == len(reconcilers[0].seen)
    assert [(r.generation, r.outcome) for r in rows][:3] == [
        (1, "success"),
        (2, "error"),
        (2, "success"),
    ]
    assert rows[1].error == "ServerError: 500 InternalError: injected"
    assert {(r.kind, r.namespace, r.name) for r in rows} == {("CronTab", namespace, "nightly")}
    # One history row per generation, though generation 2 was reconciled twice.
    changes.reverse()
    assert [(c.generation, c.kind, c.actor) for c in changes] == [
        (1, "CronTab", None),
        (2, "CronTab", "alice"),
    ]
    assert changes[0].spec["schedule"]["cron"] == "*/5 * * * *"
    assert changes[0].patch is None
    assert changes[1].spec == wire
    assert changes[1].patch == [{"op": "replace", "path": "/suspend", "value": True}]
