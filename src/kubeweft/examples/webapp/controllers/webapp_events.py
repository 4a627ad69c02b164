"""Which events of its Deployment wake a WebApp.

A new Deployment is written three or four times by Kubernetes' own Deployment
controller while it rolls out: the ``deployment.kubernetes.io/revision`` annotation
and a ``Progressing: NewReplicaSetCreated`` condition, then the replica counts as the
pods come up, each condition's ``lastUpdateTime`` along the way. Only some of those
writes move what the WebApp reconciler reads, so only those need a reconcile:
:func:`deployment_reads` is the key of the ``predicate.Changed`` the owned Deployments
are watched through, and :func:`owned_predicates` is that wiring, given to
``kubeweft.App`` by the shipped app and used by ``setup_webapp_controller`` alike.

It covers what ``webapp_status.compute_status`` reads of the Deployment's status (the
replica counts, ``observedGeneration``, a stalled rollout, a replica failure) and what
a hand edit can change that the reconciler reverts or reports: the generation (any
spec change), labels, annotations other than Kubernetes' own ``deployment.kubernetes.io/``
ones, owner references and deletion. A change to ``compute_status`` that reads more of
the Deployment must add it here.
"""

from __future__ import annotations

from typing import Any

from lightkube.resources.apps_v1 import Deployment

from kubeweft.runtime import predicate

__all__ = ["deployment_reads", "owned_predicates"]

#: Annotations the Deployment controller writes (the rollout's revision); not ours.
_KUBERNETES_ANNOTATIONS = "deployment.kubernetes.io/"


def deployment_reads(deployment: Deployment) -> tuple[object, ...]:
    """What a WebApp's reconcile reads of ``deployment``; equal keys, same outcome."""
    meta, status = deployment.metadata, deployment.status
    annotations = {
        key: value
        for key, value in ((meta.annotations if meta else None) or {}).items()
        if not key.startswith(_KUBERNETES_ANNOTATIONS)
    }
    metadata = (
        (meta.generation, meta.labels, meta.ownerReferences, meta.deletionTimestamp)
        if meta is not None
        else None
    )
    if status is None:
        return metadata, annotations, None
    conditions = tuple(
        (c.type, c.status, c.reason, c.message)
        for c in status.conditions or ()
        if (c.type, c.status, c.reason) == ("Progressing", "False", "ProgressDeadlineExceeded")
        or (c.type, c.status) == ("ReplicaFailure", "True")
    )
    counts = (
        status.observedGeneration,
        status.replicas,
        status.readyReplicas,
        status.availableReplicas,
        status.updatedReplicas,
    )
    return metadata, annotations, counts, conditions


def owned_predicates() -> dict[type[Any], list[predicate.Predicate]]:
    """The predicates of each owned kind the WebApp controller watches through."""
    return {Deployment: [predicate.Changed(deployment_reads)]}
