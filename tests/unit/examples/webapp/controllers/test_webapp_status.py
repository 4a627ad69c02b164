"""Status computation: counts, conditions and when a write is needed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from lightkube.resources.apps_v1 import Deployment

from kubeweft.api import ConditionStatus
from kubeweft.controllerutil import merge_patch
from kubeweft.examples.webapp.api.v1 import WebApp, WebAppStatus
from kubeweft.examples.webapp.controllers.webapp_status import compute_status
from tests.unit.examples.webapp.controllers.builders import make_webapp

T0 = datetime(2026, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)


def deployment(generation: int = 1, **status: Any) -> Deployment:
    data = {
        "metadata": {"name": "shop", "namespace": "default", "generation": generation},
        "spec": {"selector": {}, "template": {}},
        "status": {"observedGeneration": generation, **status},
    }
    return msgspec.convert(data, Deployment, strict=False)


def conditions(status: WebAppStatus) -> dict[str, tuple[str, str]]:
    return {c.type: (c.status.value, c.reason) for c in status.conditions}


def status_changed(old: WebAppStatus, new: WebAppStatus) -> bool:
    """Whether the reconciler's status patch would send anything."""
    before = old.model_dump(mode="json", by_alias=True, exclude_none=True)
    return bool(merge_patch(before, new.model_dump(mode="json", by_alias=True, exclude_none=True)))


def stored(webapp: WebApp, status: WebAppStatus) -> WebApp:
    """The WebApp as the next reconcile reads it, after ``status`` was written."""
    data = webapp.to_dict()
    data["status"] = status.model_dump(mode="json", by_alias=True)
    return WebApp.model_validate(data)


def test_fresh_deployment_is_progressing_and_not_ready() -> None:
    webapp = make_webapp(replicas=3, generation=2)
    status = compute_status(webapp, deployment(), service_name="shop", now=T0)
    assert conditions(status) == {
        "Ready": ("False", "ReplicasNotReady"),
        "Progressing": ("True", "RollingOut"),
        "Degraded": ("False", "AsExpected"),
    }
    assert status.observed_generation == 2
    assert status.service_name == "shop"
    assert all(c.observed_generation == 2 for c in status.conditions)
    assert all(c.last_transition_time == T0.replace(microsecond=0) for c in status.conditions)


def test_complete_rollout_is_ready_with_counts() -> None:
    webapp = make_webapp(replicas=3)
    dep = deployment(replicas=3, readyReplicas=3, availableReplicas=3, updatedReplicas=3)
    status = compute_status(webapp, dep, service_name="shop", now=T0)
    assert (status.replicas, status.ready_replicas, status.available_replicas) == (3, 3, 3)
    assert conditions(status)["Ready"] == ("True", "AllReplicasReady")
    assert conditions(status)["Progressing"] == ("False", "RolloutComplete")


def test_not_ready_until_deployment_controller_observed_the_new_spec() -> None:
    webapp = make_webapp(replicas=3)
    dep = deployment(replicas=3, readyReplicas=3, availableReplicas=3, updatedReplicas=3)
    dep.metadata.generation = 2  # we just wrote a new template; status is from before
    status = compute_status(webapp, dep, service_name="shop", now=T0)
    assert conditions(status)["Ready"] == ("False", "ReplicasNotReady")


def test_old_pods_remaining_mean_not_ready() -> None:
    webapp = make_webapp(replicas=3)
    dep = deployment(replicas=4, readyReplicas=4, availableReplicas=4, updatedReplicas=3)
    assert conditions(compute_status(webapp, dep, service_name="shop", now=T0))["Ready"][0] == (
        "False"
    )


def test_scaled_to_zero_is_ready() -> None:
    webapp = make_webapp(replicas=0)
    status = compute_status(webapp, deployment(), service_name="shop", now=T0)
    assert conditions(status)["Ready"] == ("True", "ScaledToZero")


def test_stalled_rollout_is_degraded() -> None:
    webapp = make_webapp(replicas=1)
    dep = deployment(
        replicas=1,
        conditions=[
            {
                "type": "Progressing",
                "status": "False",
                "reason": "ProgressDeadlineExceeded",
                "message": "ReplicaSet has timed out progressing.",
            }
        ],
    )
    status = compute_status(webapp, dep, service_name="shop", now=T0)
    assert conditions(status)["Degraded"] == ("True", "ProgressDeadlineExceeded")
    assert conditions(status)["Progressing"] == ("False", "ProgressDeadlineExceeded")


def test_replica_failure_is_degraded() -> None:
    dep = deployment(
        conditions=[{"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate"}]
    )
    status = compute_status(make_webapp(), dep, service_name="shop", now=T0)
    assert conditions(status)["Degraded"] == ("True", "ReplicaFailure")


def test_unchanged_world_computes_an_equal_status_so_nothing_is_written() -> None:
    webapp = make_webapp(replicas=3)
    dep = deployment(replicas=1, readyReplicas=1, availableReplicas=1, updatedReplicas=1)
    first = compute_status(webapp, dep, service_name="shop", now=T0)
    webapp = stored(webapp, first)
    again = compute_status(webapp, dep, service_name="shop", now=T0 + timedelta(minutes=5))
    assert not status_changed(webapp.status, again)


def test_transition_time_moves_only_for_conditions_that_flip() -> None:
    webapp = make_webapp(replicas=1)
    first = compute_status(webapp, deployment(), service_name="shop", now=T0)
    webapp = stored(webapp, first)
    later = T0 + timedelta(minutes=1)
    dep = deployment(replicas=1, readyReplicas=1, availableReplicas=1, updatedReplicas=1)
    second = compute_status(webapp, dep, service_name="shop", now=later)
    assert status_changed(webapp.status, second)
    times = {c.type: c.last_transition_time for c in second.conditions}
    assert times["Ready"] == later.replace(microsecond=0)
    assert times["Progressing"] == later.replace(microsecond=0)
    assert times["Degraded"] == T0.replace(microsecond=0)  # stayed False


def test_message_change_alone_is_a_change_but_keeps_transition_time() -> None:
    webapp = make_webapp(replicas=3)
    dep1 = deployment(replicas=1, readyReplicas=1, updatedReplicas=1)
    webapp = stored(webapp, compute_status(webapp, dep1, service_name="shop", now=T0))
    dep2 = deployment(replicas=2, readyReplicas=2, updatedReplicas=2)
    later = T0 + timedelta(minutes=1)
    status = compute_status(webapp, dep2, service_name="shop", now=later)
    assert status_changed(webapp.status, status)
    ready = next(c for c in status.conditions if c.type == "Ready")
    assert ready.status == ConditionStatus.FALSE
    assert ready.message == "2/3 replicas ready"
    assert ready.last_transition_time == T0.replace(microsecond=0)


def test_object_in_the_way_is_not_ready_and_degraded_and_keeps_observed_generation() -> None:
    webapp = make_webapp(replicas=3, generation=2)
    webapp.status.observed_generation = 1
    message = "Deployment default/shop is controlled by ReplicaSet x (uid y)"
    status = compute_status(webapp, None, service_name=None, now=T0, not_owned=message)
    assert conditions(status) == {
        "Ready": ("False", "NotOwned"),
        "Progressing": ("False", "NotOwned"),
        "Degraded": ("True", "NotOwned"),
    }
    assert {c.message for c in status.conditions} == {message}
    assert status.observed_generation == 1


def test_service_in_the_way_keeps_the_deployment_counts() -> None:
    dep = deployment(replicas=3, readyReplicas=3, availableReplicas=3, updatedReplicas=3)
    status = compute_status(make_webapp(replicas=3), dep, service_name=None, now=T0, not_owned="x")
    assert conditions(status)["Ready"] == ("False", "NotOwned")
    assert conditions(status)["Progressing"] == ("False", "RolloutComplete")
    assert status.ready_replicas == 3
    assert status.observed_generation == 1
