"""A WebApp's status, computed from its Deployment.

Status is written only when it changed (SPEC §3: no write when nothing changed): each
status write bumps the resourceVersion, wakes every watcher, and on a single-node etcd
caps the whole operator's throughput. Conditions are set with
``controllerutil.set_status_condition``, which moves a ``lastTransitionTime`` only when
the ``status`` flips, so an unchanged world computes a status *equal* to the stored one
and ``controllerutil.patch_status`` finds nothing to send.

The three conditions, from the Deployment's own status:

* **Ready** — True when the rollout of the current spec is complete: every desired
  replica is updated, ready and available, and no old pod remains.
* **Progressing** — True while the Deployment is rolling out or scaling; False with
  ``RolloutComplete`` when done, or with ``ProgressDeadlineExceeded`` when stalled.
* **Degraded** — True when the Deployment reports a stalled rollout or a replica
  failure (quota, admission), False otherwise.

An object in the way — a Deployment or Service of the WebApp's name that kubeweft did
not create — makes Ready False and Degraded True with reason ``NotOwned``, naming it
and its owner. Without a Deployment of our own, ``observedGeneration`` stays where it
was: it acknowledges the history record, which only a Deployment write produces.
"""

from __future__ import annotations

from datetime import datetime

from lightkube.models import apps_v1
from lightkube.resources.apps_v1 import Deployment

from kubeweft.api import Condition, ConditionStatus
from kubeweft.controllerutil import set_status_condition
from kubeweft.examples.webapp.api.v1 import WebApp, WebAppStatus

__all__ = [
    "CONDITION_DEGRADED",
    "CONDITION_PROGRESSING",
    "CONDITION_READY",
    "REASON_NOT_OWNED",
    "REASON_REJECTED",
    "compute_status",
]

CONDITION_READY = "Ready"
CONDITION_PROGRESSING = "Progressing"
CONDITION_DEGRADED = "Degraded"
REASON_NOT_OWNED = "NotOwned"
REASON_REJECTED = "Rejected"


def compute_status(
    webapp: WebApp,
    deployment: Deployment | None,
    *,
    service_name: str | None,
    now: datetime,
    not_owned: str | None = None,
    blocked_reason: str = REASON_NOT_OWNED,
) -> WebAppStatus:
    """The status ``webapp`` should have given its Deployment (None: not ours to use);
    ``not_owned`` says what blocks it — objects in the way kubeweft did not create, or
    (``blocked_reason=REASON_REJECTED``) a child the API server refused."""
    generation = webapp.metadata.generation or 0
    desired = webapp.spec.replicas
    dstatus = (deployment.status if deployment is not None else None) or apps_v1.DeploymentStatus()
    replicas = dstatus.replicas or 0
    ready = dstatus.readyReplicas or 0
    available = dstatus.availableReplicas or 0
    updated = dstatus.updatedReplicas or 0
    deployment_generation = (
        (deployment.metadata.generation or 0)
        if deployment is not None and deployment.metadata is not None
        else 0
    )
    # The Deployment controller has seen our latest write to the Deployment's spec.
    observed = deployment is not None and (dstatus.observedGeneration or 0) >= deployment_generation
    stalled = _deployment_condition(dstatus, "Progressing", "False")
    failure = _deployment_condition(dstatus, "ReplicaFailure", "True")
    complete = (
        observed
        and updated == desired
        and replicas == desired
        and ready >= desired
        and available >= desired
    )
    counts = f"{ready}/{desired} replicas ready"

    if complete:
        reason = "ScaledToZero" if desired == 0 else "AllReplicasReady"
        ready_cond = (ConditionStatus.TRUE, reason, counts)
    else:
        ready_cond = (ConditionStatus.FALSE, "ReplicasNotReady", counts)
    if stalled is not None:
        progressing = (ConditionStatus.FALSE, "ProgressDeadlineExceeded", stalled.message or "")
    elif complete:
        progressing = (ConditionStatus.FALSE, "RolloutComplete", f"rollout complete: {counts}")
    else:
        progressing = (
            ConditionStatus.TRUE,
            "RollingOut",
            f"{updated}/{desired} replicas updated, {available} available, {replicas} total",
        )
    if stalled is not None:
        degraded = (ConditionStatus.TRUE, "ProgressDeadlineExceeded", stalled.message or "")
    elif failure is not None:
        degraded = (ConditionStatus.TRUE, "ReplicaFailure", failure.message or "")
    else:
        degraded = (ConditionStatus.FALSE, "AsExpected", "")
    if not_owned is not None:
        ready_cond = (ConditionStatus.FALSE, blocked_reason, not_owned)
        degraded = (ConditionStatus.TRUE, blocked_reason, not_owned)
        if deployment is None:
            progressing = (ConditionStatus.FALSE, blocked_reason, not_owned)
    conditions = list(webapp.status.conditions)
    for type_, (status, reason, message) in (
        (CONDITION_READY, ready_cond),
        (CONDITION_PROGRESSING, progressing),
        (CONDITION_DEGRADED, degraded),
    ):
        set_status_condition(
            conditions,
            Condition(
                type=type_,
                status=status,
                reason=reason,
                message=message,
                observed_generation=generation,
                last_transition_time=now,
            ),
        )
    return WebAppStatus(
        replicas=replicas,
        ready_replicas=ready,
        available_replicas=available,
        observed_generation=(
            webapp.status.observed_generation if deployment is None else generation
        ),
        conditions=conditions,
        service_name=service_name,
    )


def _deployment_condition(
    status: apps_v1.DeploymentStatus, type_: str, value: str
) -> apps_v1.DeploymentCondition | None:
    for cond in status.conditions or []:
        if cond.type == type_ and cond.status == value:
            if type_ == "Progressing" and cond.reason != "ProgressDeadlineExceeded":
                continue
            return cond
    return None
