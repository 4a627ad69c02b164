"""Which SubjectAccessReview a REST operation needs, and how a refusal is worded.

The REST layer speaks of operations on a model ("patch this object", "add an
annotation"); RBAC speaks of verbs on resources. This table is the one place that maps
one to the other, so a Role written for ``kubectl`` means the same through the REST API:
annotations are the ``<plural>/annotations`` subresource (create/delete), and the
read-only views (history, metrics, events, the annotation list) need ``get`` on the
resource itself.
"""

from __future__ import annotations

from enum import StrEnum

from kubeweft.api.model import ModelInfo
from kubeweft.auth.identity import ResourceAttributes

__all__ = ["Operation", "attributes_for", "describe"]

ANNOTATIONS_SUBRESOURCE = "annotations"


class Operation(StrEnum):
    LIST = "list"
    GET = "get"
    CREATE = "create"
    PATCH = "patch"
    DELETE = "delete"
    READ_ANNOTATIONS = "read_annotations"
    CREATE_ANNOTATION = "create_annotation"
    DELETE_ANNOTATION = "delete_annotation"
    READ_HISTORY = "read_history"
    READ_METRICS = "read_metrics"
    READ_EVENTS = "read_events"


# operation -> (verb, subresource)
_RBAC: dict[Operation, tuple[str, str | None]] = {
    Operation.LIST: ("list", None),
    Operation.GET: ("get", None),
    Operation.CREATE: ("create", None),
    Operation.PATCH: ("patch", None),
    Operation.DELETE: ("delete", None),
    Operation.READ_ANNOTATIONS: ("get", None),
    Operation.CREATE_ANNOTATION: ("create", ANNOTATIONS_SUBRESOURCE),
    Operation.DELETE_ANNOTATION: ("delete", ANNOTATIONS_SUBRESOURCE),
    Operation.READ_HISTORY: ("get", None),
    Operation.READ_METRICS: ("get", None),
    Operation.READ_EVENTS: ("get", None),
}


def attributes_for(
    info: ModelInfo,
    operation: Operation,
    *,
    namespace: str | None,
    name: str | None = None,
) -> ResourceAttributes:
    """The access check for ``operation`` on the model ``info`` (``namespace=None``: all).

    A cluster-scoped model is checked without a namespace whatever ``namespace`` says:
    only a ClusterRole can grant it, as in Kubernetes.
    """
    verb, subresource = _RBAC[operation]
    return ResourceAttributes(
        verb=verb,
        group=info.group,
        resource=info.plural,
        namespace=namespace if info.namespaced else None,
        name=name if operation not in (Operation.LIST, Operation.CREATE) else None,
        subresource=subresource,
    )


def describe(attributes: ResourceAttributes, user: str) -> str:
    """A refusal in the API server's words: who may not do which verb on what, where."""
    resource = attributes.resource
    if attributes.subresource:
        resource = f"{resource}/{attributes.subresource}"
    group = f' in API group "{attributes.group}"' if attributes.group else ""
    where = (
        f' in the namespace "{attributes.namespace}"'
        if attributes.namespace
        else " at the cluster scope"
    )
    named = f' "{attributes.name}"' if attributes.name else ""
    return f'User "{user}" cannot {attributes.verb} resource "{resource}"{named}{group}{where}'
