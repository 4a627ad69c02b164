"""A WebApp's status, computed from its Deployment, and whether it needs writing.

Status is written only when it changed (SPEC §3: no write when nothing changed): each
status write bumps the resourceVersion, wakes every watcher, and on a single-node etcd
caps the whole operator's throughput. Conditions follow ``metav1.Condition``: a
condition's ``lastTransitionTime`` moves only when its ``status`` flips, so an
unchanged world computes a status *equal* to the stored one and nothing is written.

The three conditions, from the Deployment's own status:

* **Ready** — True when the rollout of the current spec is complete: every desired
  replica is updated, ready and available, and no old pod remains.
* **Progressing** — True while the Deployment is rolling out or scaling; False with
  ``RolloutComplete`` when done, or with ``ProgressDeadlineExceeded`` when stalled.
* **Degraded** — True when the Deployment reports a stalled rollout or a replica
  failure (quota, admission), False otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from lightkube.models import apps_v1
from lightkube.resources.apps_v1 import Deployment

from kubeweft.api import Condition, ConditionStatus
from kubeweft.api.v1alpha1 import WebApp, WebAppStatus

__all__ = [
    "CONDITION_DEGRADED",
    "CONDITION_PROGRESSING",
    "CONDITION_READY",
    "compute_status",
    "set_condition",
    "status_changed",
]

CONDITION_READY = "Ready"
CONDITION_PROGRESSING = "Progressing"
CONDITION_DEGRADED = "Degraded"


def compute_status(
    webapp: WebApp,
    deployment: Deployment | None,
    *,
    service_name: str | None,
    now: datetime,
) -> WebAppStatus:
    """The status ``webapp`` should have given its Deployment (None: not created yet)."""
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

    conditions = list(webapp.status.conditions)
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
    for type_, (status, reason, message) in (
        (CONDITION_READY, ready_cond),
        (CONDITION_PROGRESSING, progressing),
        (CONDITION_DEGRADED, degraded),
    ):
        conditions = set_condition(
            conditions,
            type_,
            status,
            reason=reason,
            message=message,
            observed_generation=generation,
            now=now,
        )
    return WebAppStatus(
        replicas=replicas,
        ready_replicas=ready,
        available_replicas=available,
        observed_generation=generation,
        conditions=conditions,
        service_name=service_name,
    )


def set_condition(
    conditions: Sequence[Condition],
    type_: str,
    status: ConditionStatus,
    *,
    reason: str,
    message: str,
    observed_generation: int,
    now: datetime,
) -> list[Condition]:
    """``meta.SetStatusCondition``: replace the condition of ``type_``, keeping its
    ``lastTransitionTime`` unless ``status`` flips. Order of the others is kept."""
    existing = next((c for c in conditions if c.type == type_), None)
    transition = (
        existing.last_transition_time
        if existing is not None and existing.status == status
        else _api_time(now)
    )
    updated = Condition(
        type=type_,
        status=status,
        reason=reason,
        message=message,
        observed_generation=observed_generation,
        last_transition_time=transition,
    )
    if existing is None:
        return [*conditions, updated]
    return [updated if c.type == type_ else c for c in conditions]


def status_changed(old: WebAppStatus, new: WebAppStatus) -> bool:
    """True if ``new`` differs from the stored ``old`` in anything but representation."""
    return _comparable(old) != _comparable(new)


def _comparable(status: WebAppStatus) -> dict[str, object]:
    data = status.model_dump(mode="json", by_alias=True, exclude_none=True)
    # The API server stores times at second precision and in UTC; compare the same way.
    for cond in data.get("conditions", []):
        cond["lastTransitionTime"] = _api_time(
            datetime.fromisoformat(cond["lastTransitionTime"])
        ).isoformat()
    data["conditions"] = sorted(data.get("conditions", []), key=lambda c: c["type"])
    return data


def _api_time(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0)


def _deployment_condition(
    status: apps_v1.DeploymentStatus, type_: str, value: str
) -> apps_v1.DeploymentCondition | None:
    for cond in status.conditions or []:
        if cond.type == type_ and cond.status == value:
            if type_ == "Progressing" and cond.reason != "ProgressDeadlineExceeded":
                continue
            return cond
    return None
