"""The WebApp reconciler's decisions, against an in-memory cluster."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from lightkube.models.apps_v1 import DeploymentSpec
from lightkube.models.core_v1 import Container, PodSpec, PodTemplateSpec
from lightkube.models.meta_v1 import LabelSelector, ObjectMeta
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Service

from kubeweft.api.changes import CHANGED_BY_ANNOTATION, changed_by_value
from kubeweft.controllerutil.reconcile_log import LoggedReconciler
from kubeweft.db.records import HistoryRecord, MetricSample, ReconcileRecord
from kubeweft.examples.webapp.api.v1 import WebApp
from kubeweft.examples.webapp.controllers.webapp import WebAppReconciler, WebAppReconcilerOptions
from kubeweft.runtime import errors
from kubeweft.runtime.reconcile import Request, Result
from tests.support.fake_client import FakeClient
from tests.unit.examples.webapp.controllers.fakes import Recorded

pytestmark = pytest.mark.anyio

REQUEST = Request("default", "shop")


class Ticker:
    """A wall clock that moves one second per reading."""

    def __init__(self) -> None:
        self.moment = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.moment += timedelta(seconds=1)
        return self.moment


@pytest.fixture
def cluster() -> FakeClient:
    cluster = FakeClient()
    cluster.put(
        WebApp.model_validate(
            {
                "metadata": {"name": "shop", "namespace": "default", "uid": "wa-uid"},
                "spec": {"image": "nginx:1", "replicas": 3},
            }
        )
    )
    cluster.edit("WebApp", "shop", lambda d: d["metadata"].update(generation=1))
    return cluster


@pytest.fixture
def sink() -> Recorded:
    return Recorded()


@pytest.fixture
def reconciler(cluster: FakeClient, sink: Recorded) -> LoggedReconciler:
    """The reconciler as ``kubeweft.App`` runs it: the framework writes the reconcile log."""
    options = WebAppReconcilerOptions(requeue_after=30.0, now=Ticker())
    inner = WebAppReconciler(cluster, cluster, events=sink, options=options)
    return LoggedReconciler(inner, WebApp, cluster, sink)


def change_spec(cluster: FakeClient, **spec: Any) -> None:
    def apply(data: dict[str, Any]) -> None:
        data["spec"].update(spec)
        data["metadata"]["generation"] += 1

    cluster.edit("WebApp", "shop", apply)


def deployment_becomes_ready(cluster: FakeClient, replicas: int) -> None:
    """What the Deployment controller and kwok would do."""

    def apply(data: dict[str, Any]) -> None:
        data["status"] = {
            "observedGeneration": data["metadata"]["generation"],
            "replicas": replicas,
            "updatedReplicas": replicas,
            "readyReplicas": replicas,
            "availableReplicas": replicas,
        }

    cluster.edit("Deployment", "shop", apply)


def of(sink: Recorded, kind: type[Any]) -> list[Any]:
    return [r for r in sink.records if isinstance(r, kind)]


def history(sink: Recorded) -> Iterator[tuple[int, str, int]]:
    return ((r.generation, r.spec["image"], r.spec["replicas"]) for r in of(sink, HistoryRecord))


async def test_first_reconcile_creates_owned_objects_status_and_records(
    reconciler: LoggedReconciler, cluster: FakeClient, sink: Recorded
) -> None:
    result = await reconciler.reconcile(REQUEST)

    assert result == Result(requeue_after=30.0)
    assert cluster.writes == [
        ("create", "Deployment", "shop"),
        ("create", "Service", "shop"),
        ("update_status", "WebApp", "shop"),
    ]
    dep = cluster.raw("Deployment", "shop")
    assert dep["metadata"]["ownerReferences"][0]["uid"] == "wa-uid"
    assert dep["metadata"]["annotations"]["kubeweft.dev/generation"] == "1"
    status = cluster.raw("WebApp", "shop")["status"]
    assert status["observedGeneration"] == 1
    assert status["serviceName"] == "shop"
    assert {c["type"]: c["status"] for c in status["conditions"]} == {
        "Ready": "False",
        "Progressing": "True",
        "Degraded": "False",
    }
    # One Event for both children: each Event is a write to the API server.
    assert [e[1:] for e in sink.events] == [
        ("Created", "Created Deployment shop (image nginx:1, 3 replicas) and Service shop")
    ]
    assert list(history(sink)) == [(1, "nginx:1", 3)]
    (log,) = of(sink, ReconcileRecord)
    assert log.outcome == "success"
    assert log.uid == "wa-uid"
    assert log.actions == (
        "created Deployment",
        "created Service",
        "updated status",
    )
    samples = {s.name: (s.uid, s.value) for s in of(sink, MetricSample)}
    assert samples == {"desired_replicas": ("wa-uid", 3.0), "ready_replicas": ("wa-uid", 0.0)}


async def test_nothing_changed_means_no_write_no_history_and_no_sample(
    reconciler: LoggedReconciler, cluster: FakeClient, sink: Recorded
) -> None:
    await reconciler.reconcile(REQUEST)
    deployment_becomes_ready(cluster, 3)
    sink.records.clear()
    await reconciler.reconcile(REQUEST)  # status catches up: Ready
    # Only the value that changed is sampled.
    assert {s.name: s.value for s in of(sink, MetricSample)} == {"ready_replicas": 3.0}
    writes = len(cluster.writes)
    sink.records.clear()

    result = await reconciler.reconcile(REQUEST)

    assert result == Result(requeue_after=30.0)
    assert len(cluster.writes) == writes
    assert list(history(sink)) == []
    (log,) = of(sink, ReconcileRecord)
    assert (log.outcome, log.actions) == ("success", ())
    assert of(sink, MetricSample) == []  # unchanged, and the heartbeat is minutes away


async def test_ready_event_when_rollout_completes(
    reconciler: LoggedReconciler, cluster: FakeClient, sink: Recorded
) -> None:
    await reconciler.reconcile(REQUEST)
    deployment_becomes_ready(cluster, 3)
    await reconciler.reconcile(REQUEST)
    status = cluster.raw("WebApp", "shop")["status"]
    assert status["readyReplicas"] == 3
    assert {c["type"]: c["reason"] for c in status["conditions"]}["Ready"] == "AllReplicasReady"
    assert sink.events[-1][1] == "Ready"


async def test_image_and_replica_changes_follow_with_history_and_events(
    reconciler: LoggedReconciler, cluster: FakeClient, sink: Recorded
) -> None:
    await reconciler.reconcile(REQUEST)
    change_spec(cluster, image="nginx:2")
    await reconciler.reconcile(REQUEST)
    change_spec(cluster, replicas=5)
    await reconciler.reconcile(REQUEST)
    change_spec(cluster, env=[{"name": "A", "value": "1"}])
    await reconciler.reconcile(REQUEST)

    dep = cluster.raw("Deployment", "shop")
    assert dep["spec"]["replicas"] == 5
    container = dep["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "nginx:2"
    assert container["env"] == [{"name": "A", "value": "1"}]
    # One history record per generation, the env-only one included (its spec changed).
    assert list(history(sink)) == [
        (1, "nginx:1", 3),
        (2, "nginx:2", 3),
        (3, "nginx:2", 5),
        (4, "nginx:2", 5),
    ]
    scaled = [e for e in sink.events if e[1] == "Scaled"]
    assert scaled == [("Normal", "Scaled", "Scaled Deployment shop from 3 to 5 replicas")]
    assert ("Normal", "Updated", "Updated Deployment shop: annotations, image") in sink.events
    assert cluster.raw("WebApp", "shop")["status"]["observedGeneration"] == 4


async def test_hand_edit_is_reverted_without_history(
    reconciler: LoggedReconciler, cluster: FakeClient, sink: Recorded
) -> None:
    await reconciler.reconcile(REQUEST)
    cluster.edit("Deployment", "shop", lambda d: d["spec"].update(replicas=9))
    sink.records.clear()

    await reconciler.reconcile(REQUEST)

    assert cluster.raw("Deployment", "shop")["spec"]["replicas"] == 3
    assert list(history(sink)) == []
    (log,) = of(sink, ReconcileRecord)
    assert log.actions == ("updated Deployment (replicas)",)


async def test_actor_comes_from_a_matching_change_stamp(
    reconciler: LoggedReconciler, cluster: FakeClient, sink: Recorded
) -> None:
    spec = {
        "image": "nginx:1",
        "replicas": 3,
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
        "env": [],
    }
    cluster.edit(
        "WebApp",
        "shop",
        lambda d: d["metadata"].update(
            annotations={CHANGED_BY_ANNOTATION: changed_by_value("alice", spec)}
        ),
    )
    await reconciler.reconcile(REQUEST)
    change_spec(cluster, image="nginx:2")  # by kubectl: the stamp is now stale
    await reconciler.reconcile(REQUEST)
    assert [r.actor for r in of(sink, HistoryRecord)] == ["alice", None]


async def test_conflict_on_an_owned_object_requeues_and_is_logged_as_requeue(
    reconciler: LoggedReconciler, cluster: FakeClient, sink: Recorded
) -> None:
    await reconciler.reconcile(REQUEST)
    change_spec(cluster, image="nginx:2")
    sink.records.clear()
    cluster.fail_next["update"] = errors.Conflict(409, "Conflict", "modified")
    result = await reconciler.reconcile(REQUEST)
    assert result == Result(requeue=True)
    (log,) = of(sink, ReconcileRecord)
    assert log.outcome == "requeue"
    assert "modified" in (log.error or "")


class StaleWebApp:
    """A cache that still holds an old copy of the WebApp (its watch event is late)."""

    def __init__(self, cluster: FakeClient, webapp: WebApp) -> None:
        self.cluster = cluster
        self.webapp = webapp

    async def get(self, kind: type[Any], name: str, namespace: str | None = None) -> Any:
        if kind is WebApp:
            return self.webapp.model_copy(deep=True)
        return await self.cluster.get(kind, name, namespace)


async def test_status_write_from_a_cache_behind_our_last_write_does_not_conflict(
    cluster: FakeClient, sink: Recorded
) -> None:
    stale = await cluster.get(WebApp, "shop")
    await WebAppReconciler(cluster, cluster).reconcile(REQUEST)  # writes status
    deployment_becomes_ready(cluster, 3)
    reader = StaleWebApp(cluster, stale)
    reconciler = LoggedReconciler(WebAppReconciler(reader, cluster), WebApp, reader, sink)

    assert await reconciler.reconcile(REQUEST) == Result(requeue_after=30.0)

    (log,) = of(sink, ReconcileRecord)
    assert (log.outcome, log.error) == ("success", None)
    status = cluster.raw("WebApp", "shop")["status"]
    assert (status["readyReplicas"], status["serviceName"]) == (3, "shop")


async def test_already_exists_from_a_lagging_cache_requeues(
    reconciler: LoggedReconciler, cluster: FakeClient, sink: Recorded
) -> None:
    cluster.fail_next["create"] = errors.AlreadyExists(409, "AlreadyExists", "exists")
    assert await reconciler.reconcile(REQUEST) == Result(requeue=True)


async def test_api_error_propagates_for_the_controller_backoff(
    reconciler: LoggedReconciler, cluster: FakeClient, sink: Recorded
) -> None:
    cluster.fail_next["create"] = errors.ServerError(500, "InternalError", "etcd down")
    with pytest.raises(errors.ServerError):
        await reconciler.reconcile(REQUEST)
    (log,) = of(sink, ReconcileRecord)
    assert log.outcome == "error"
    assert log.error == "ServerError: 500 InternalError: etcd down"


async def test_a_generation_whose_reconcile_failed_is_recorded_when_a_retry_succeeds(
    reconciler: LoggedReconciler, cluster: FakeClient, sink: Recorded
) -> None:
    await reconciler.reconcile(REQUEST)
    change_spec(cluster, image="nginx:2")
    cluster.fail_next["patch"] = errors.ConnectionFailed(0, "", "connection reset")
    with pytest.raises(errors.ConnectionFailed):
        await reconciler.reconcile(REQUEST)
    assert [g for g, _, _ in history(sink)] == [1]  # not reconciled: not recorded yet
    # A restarted operator has no memory of what it recorded: it submits generation 2
    # once (the database would ignore a second copy) and not again on the next pass.
    fresh = LoggedReconciler(WebAppReconciler(cluster, cluster), WebApp, cluster, sink)
    await fresh.reconcile(REQUEST)
    await fresh.reconcile(REQUEST)

    assert list(history(sink)) == [(1, "nginx:1", 3), (2, "nginx:2", 3)]


def not_owned_conditions(cluster: FakeClient) -> dict[str, tuple[str, str, str]]:
    status = cluster.raw("WebApp", "shop")["status"]
    return {c["type"]: (c["status"], c["reason"], c["message"]) for c in status["conditions"]}


async def test_object_controlled_by_someone_else_is_left_alone(
    reconciler: LoggedReconciler, cluster: FakeClient, sink: Recorded
) -> None:
    await reconciler.reconcile(REQUEST)

    def steal(data: dict[str, Any]) -> None:
        data["metadata"]["ownerReferences"][0]["uid"] = "other-uid"
        data["spec"]["replicas"] = 9

    cluster.edit("Deployment", "shop", steal)
    taken = dict(cluster.raw("Deployment", "shop"))
    writes = len(cluster.writes)
    assert await reconciler.reconcile(REQUEST) == Result(requeue_after=30.0)
    assert cluster.writes[writes:] == [("update_status", "WebApp", "shop")]
    assert cluster.raw("Deployment", "shop") == taken
    message = "Deployment default/shop is controlled by WebApp shop (uid other-uid)"
    assert sink.events[-1] == ("Warning", "NotOwned", message)
    conditions = not_owned_conditions(cluster)
    assert conditions["Ready"] == ("False", "NotOwned", message)
    assert conditions["Degraded"] == ("True", "NotOwned", message)


async def test_unowned_unlabelled_deployment_is_never_adopted(
    reconciler: LoggedReconciler, cluster: FakeClient, sink: Recorded
) -> None:
    theirs = Deployment(
        metadata=ObjectMeta(name="shop", namespace="default", uid="theirs", labels={"app": "db"}),
        spec=DeploymentSpec(
            replicas=1,
            selector=LabelSelector(matchLabels={"app": "db"}),
            template=PodTemplateSpec(
                metadata=ObjectMeta(labels={"app": "db"}),
                spec=PodSpec(
                    serviceAccountName="db-admin",
                    containers=[Container(name="app", image="postgres:17")],
                ),
            ),
        ),
    )
    cluster.put(theirs)
    before = dict(cluster.raw("Deployment", "shop"))

    assert await reconciler.reconcile(REQUEST) == Result(requeue_after=30.0)
    assert await reconciler.reconcile(REQUEST) == Result(requeue_after=30.0)

    assert cluster.raw("Deployment", "shop") == before
    assert cluster.writes == [("update_status", "WebApp", "shop")]  # no Service either
    message = (
        "Deployment default/shop exists and was not created by kubeweft: it has no "
        "controller and no app.kubernetes.io/managed-by=kubeweft label"
    )
    assert [e for e in sink.events if e[0] == "Warning"] == [("Warning", "NotOwned", message)] * 2
    conditions = not_owned_conditions(cluster)
    assert conditions["Ready"] == ("False", "NotOwned", message)
    assert conditions["Progressing"] == ("False", "NotOwned", message)
    status = cluster.raw("WebApp", "shop")["status"]
    assert status["observedGeneration"] == 0  # no history row yet: nothing acknowledged
    assert [r.outcome for r in of(sink, ReconcileRecord)] == ["requeue", "requeue"]
    assert list(history(sink)) == []


async def test_orphan_with_our_label_is_adopted_and_recorded(
    reconciler: LoggedReconciler, cluster: FakeClient, sink: Recorded
) -> None:
    await reconciler.reconcile(REQUEST)
    cluster.edit("Deployment", "shop", lambda d: d["metadata"].pop("ownerReferences"))
    sink.records.clear()

    await reconciler.reconcile(REQUEST)

    (ref,) = cluster.raw("Deployment", "shop")["metadata"]["ownerReferences"]
    assert (ref["uid"], ref["controller"]) == ("wa-uid", True)
    (log,) = of(sink, ReconcileRecord)
    assert log.actions[0] == "updated Deployment (ownerReferences)"


async def test_missing_webapp_is_done_without_records(
    reconciler: LoggedReconciler, sink: Recorded
) -> None:
    assert await reconciler.reconcile(Request("default", "nope")) == Result()
    assert sink.records == []


async def test_webapp_being_deleted_is_not_touched(
    reconciler: LoggedReconciler, cluster: FakeClient
) -> None:
    cluster.edit(
        "WebApp",
        "shop",
        lambda d: d["metadata"].update(deletionTimestamp="2026-05-01T12:00:00Z"),
    )
    assert await reconciler.reconcile(REQUEST) == Result()
    assert cluster.writes == []


async def test_a_refusing_record_sink_never_fails_the_reconcile(
    cluster: FakeClient,
) -> None:
    class Refusing:
        def submit(self, record: object) -> None:
            raise RuntimeError("buffer closed")

    reconciler = LoggedReconciler(WebAppReconciler(cluster, cluster), WebApp, cluster, Refusing())
    assert await reconciler.reconcile(REQUEST) == Result(requeue_after=30.0)
    assert ("create", "Deployment", "shop") in cluster.writes


async def test_a_child_the_api_server_refuses_is_reported_on_the_webapp(
    reconciler: LoggedReconciler, cluster: FakeClient, sink: Recorded
) -> None:
    # As for a WebApp named web.shop, stored before its CRD refused names a Service
    # cannot take: the Service create is refused every time, so the WebApp says so.
    await reconciler.reconcile(REQUEST)
    await cluster.delete(Service, "shop", "default")
    refusal = 'Service "shop" is invalid: metadata.name: Invalid value: a DNS-1035 label'
    cluster.fail_next["create"] = errors.Invalid(422, "Invalid", refusal)
    assert await reconciler.reconcile(REQUEST) == Result(requeue_after=30.0)
    assert cluster.writes[-2:] == [
        ("create", "Service", "shop"),
        ("update_status", "WebApp", "shop"),
    ]
    message = f"The API server refused a child object: {refusal}"
    assert sink.events[-1] == ("Warning", "Rejected", message)
    conditions = not_owned_conditions(cluster)
    assert conditions["Ready"] == ("False", "Rejected", message)
    assert conditions["Degraded"] == ("True", "Rejected", message)
    assert [r.outcome for r in of(sink, ReconcileRecord)][-1] == "requeue"
