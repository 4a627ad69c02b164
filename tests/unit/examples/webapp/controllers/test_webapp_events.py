"""``webapp_events.deployment_reads``: which Deployment writes wake the WebApp.

The writes are those the Deployment controller makes while a new Deployment rolls
out (recorded from a real API server's watch), plus the hand edits the reconciler
must see."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from lightkube.models.apps_v1 import DeploymentCondition, DeploymentSpec, DeploymentStatus
from lightkube.models.core_v1 import PodTemplateSpec
from lightkube.models.meta_v1 import LabelSelector, ObjectMeta
from lightkube.resources.apps_v1 import Deployment

from kubeweft.examples.webapp.controllers.webapp_events import deployment_reads
from kubeweft.runtime.predicate import Changed

WAKES = Changed(deployment_reads)
T0, T1 = datetime(2026, 12, 2, 3, 57, 24, tzinfo=UTC), datetime(2026, 12, 2, 3, 57, 25, tzinfo=UTC)


def created() -> Deployment:
    return Deployment(
        metadata=ObjectMeta(
            name="shop",
            namespace="default",
            generation=1,
            resourceVersion="14743",
            labels={"app.kubernetes.io/managed-by": "kubeweft"},
            annotations={"kubeweft.dev/generation": "1"},
        ),
        spec=DeploymentSpec(selector=LabelSelector(), template=PodTemplateSpec(), replicas=1),
        status=DeploymentStatus(),
    )


def progressing(reason: str, status: str = "True", at: datetime = T0) -> DeploymentCondition:
    return DeploymentCondition(
        type="Progressing", status=status, reason=reason, lastUpdateTime=at, message=reason
    )


def revision_written() -> Deployment:
    """The Deployment controller's first write: its revision and NewReplicaSetCreated."""
    after = created()
    assert after.metadata is not None
    assert after.metadata.annotations is not None
    after.metadata.resourceVersion = "14877"
    after.metadata.annotations["deployment.kubernetes.io/revision"] = "1"
    after.status = DeploymentStatus(conditions=[progressing("NewReplicaSetCreated")])
    return after


def rolled_out() -> Deployment:
    after = revision_written()
    after.status = DeploymentStatus(
        observedGeneration=1,
        replicas=1,
        readyReplicas=1,
        availableReplicas=1,
        updatedReplicas=1,
        conditions=[progressing("NewReplicaSetAvailable", at=T1)],
    )
    return after


def test_the_rollouts_bookkeeping_does_not_wake_the_webapp() -> None:
    first = created()
    second = revision_written()
    assert not WAKES.update(first, second)
    later = revision_written()
    assert later.status is not None
    later.status.conditions = [progressing("NewReplicaSetCreated", at=T1)]  # lastUpdateTime
    assert not WAKES.update(second, later)


def test_replicas_becoming_ready_wake_the_webapp() -> None:
    second = revision_written()
    assert WAKES.update(second, rolled_out())


def test_a_stalled_rollout_or_a_replica_failure_wakes_the_webapp() -> None:
    before = rolled_out()
    stalled = rolled_out()
    assert stalled.status is not None
    stalled.status.conditions = [progressing("ProgressDeadlineExceeded", status="False")]
    assert WAKES.update(before, stalled)
    failing = rolled_out()
    assert failing.status is not None
    failing.status.conditions = [
        DeploymentCondition(type="ReplicaFailure", status="True", message="quota exceeded")
    ]
    assert WAKES.update(before, failing)


def test_hand_edits_wake_the_webapp() -> None:
    before = rolled_out()
    edits: list[dict[str, Any]] = [
        {"generation": 2},  # any spec change
        {"labels": {}},
        {"annotations": {"kubeweft.dev/generation": "7"}},
        {"ownerReferences": []},
        {"deletionTimestamp": T1},
    ]
    for edit in edits:
        after = rolled_out()
        for field, value in edit.items():
            setattr(after.metadata, field, value)
        assert WAKES.update(before, after), edit


def test_creation_and_deletion_always_wake_the_webapp() -> None:
    assert WAKES.create(created())
    assert WAKES.delete(created())
