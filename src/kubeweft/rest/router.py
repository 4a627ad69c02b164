"""One router per model, generated from the model's declaration.

``model_router(Store)`` serves SPEC §6's endpoint table under ``/api/stores``: list,
detail, create, merge patch, delete, the annotations/history/metrics/events
sub-resources, and rollback to a past generation's spec. Everything model-specific — the
plural, the API group used for authorization, the spec class that validates requests —
is read from the model, so a second model gets its endpoints by being listed in
``AppContext.models``.

Writes go to the API server (never to the cache); reads come from the cache through
``views`` with read-your-writes. The handlers live in ``rest.routes``, by what they
address: the collection, one object, and the object's records.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter

from kubeweft.api import CustomResource
from kubeweft.rest.dependencies import DEFAULT_LIST_LIMITS, ListLimits
from kubeweft.rest.routes.collection import add_collection_routes
from kubeweft.rest.routes.item import add_item_routes
from kubeweft.rest.routes.model import ModelRoutes, problem_doc
from kubeweft.rest.routes.owned import add_owned_routes
from kubeweft.rest.routes.records import add_record_routes
from kubeweft.rest.routes.rollback import add_rollback_route
from kubeweft.rest.routes.watch import add_watch_routes, watch_prefix
from kubeweft.views.detail_fields import DetailFields
from kubeweft.views.watches import Watches

__all__ = ["PROBLEM_RESPONSES", "model_router", "watch_router"]

PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: problem_doc(text)
    for code, text in {
        400: "Malformed request (bad JSON, bad continue token or label selector).",
        401: "Authentication required.",
        403: "The caller may not do this.",
        404: "The resource does not exist.",
        413: "The request body is too large.",
        422: "Validation failed; `errors` names each field.",
        500: "The database could not be queried, or an unexpected error.",
        502: "The Kubernetes API server failed.",
        503: "The Kubernetes API server is throttling.",
    }.items()
}


def model_router(
    model: type[CustomResource],
    limits: ListLimits = DEFAULT_LIST_LIMITS,
    fields: Sequence[DetailFields] = (),
) -> APIRouter:
    """The router serving ``/api/<plural>`` for ``model``; ``limits`` bound its list pages,
    ``fields`` are the project's own members of its bodies (``views.detail_fields``)."""
    routes = ModelRoutes.of(model, fields)
    plural = routes.info.plural
    router = APIRouter(prefix=f"/api/{plural}", tags=[plural], responses=PROBLEM_RESPONSES)
    add_collection_routes(router, routes, limits)
    add_item_routes(router, routes)
    add_record_routes(router, routes)
    add_owned_routes(router, routes)
    add_rollback_route(router, routes)
    return router


def watch_router(model: type[CustomResource], watches: Watches | None = None) -> APIRouter:
    """The router serving ``/api/watch/<plural>``: ``model``'s live updates (server-sent
    events, docs/guide/live-updates.md), fed by ``watches`` (the process's; None when
    the app is built only for its OpenAPI document)."""
    routes = ModelRoutes.of(model)
    plural = routes.info.plural
    router = APIRouter(prefix=watch_prefix(plural), tags=[plural], responses=PROBLEM_RESPONSES)
    add_watch_routes(router, routes, watches)
    return router
