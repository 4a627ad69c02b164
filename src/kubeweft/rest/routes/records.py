"""An object's sub-resources: annotations, history and metrics (database), Events.

Annotations are supplementary data: they go straight to the database, never through
Kubernetes. Every route here first loads the object (a 404 when it does not exist)
and is authorized before that, so a missing name reveals nothing to a caller who may
not read the resource. Annotations are the ``<plural>/annotations`` sub-resource for
RBAC; history, metrics and Events are ``get`` on the resource itself.
"""

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from lightkube.resources.core_v1 import Event

from kubeweft.auth.identity import Identity
from kubeweft.rest.dependencies import ContextDep
from kubeweft.rest.problems import FieldError, Problem, problem_from_kube_error
from kubeweft.rest.routes.model import ModelRoutes, json_response
from kubeweft.rest.schemas import (
    AnnotationCreate,
    AnnotationRead,
    EventRead,
    HistoryRead,
    MetricSeriesRead,
)
from kubeweft.runtime import errors as kube_errors

__all__ = ["EVENTS_OF_CLUSTER_OBJECTS", "add_record_routes", "utc_since"]

# Where Kubernetes (and the Event recorder) puts Events about a cluster-scoped object.
EVENTS_OF_CLUSTER_OBJECTS = "default"


def add_record_routes(router: APIRouter, routes: ModelRoutes) -> None:
    item = routes.item_path

    ResourceDep = Annotated[Any, routes.loaded]

    # --- annotations (database only) --------------------------------------------------
    @router.get(
        f"{item}/annotations",
        response_model=list[AnnotationRead],
        summary="List annotations",
    )
    async def list_annotations(
        identity: Annotated[Identity, routes.may("get")],
        obj: ResourceDep,
        ctx: ContextDep,
    ) -> list[AnnotationRead]:
        rows = await ctx.store.annotations(obj.metadata.uid)
        return [AnnotationRead.model_validate(dataclasses.asdict(r)) for r in rows]

    @router.post(
        f"{item}/annotations",
        status_code=201,
        response_model=AnnotationRead,
        summary="Add an annotation",
    )
    async def add_annotation(
        body: AnnotationCreate,
        identity: Annotated[Identity, routes.may("create", "annotations")],
        obj: ResourceDep,
        request: Request,
        ctx: ContextDep,
    ) -> Response:
        meta = obj.metadata
        row = await ctx.store.add_annotation(
            routes.ref_of(obj), author=identity.user, body=body.body
        )
        location = f"{routes.path(meta.namespace, meta.name)}/annotations/{row.id}"
        await routes.audit(ctx, request, identity, "annotate", meta.namespace, meta.name, 201, obj)
        return json_response(
            AnnotationRead.model_validate(dataclasses.asdict(row)), 201, {"Location": location}
        )

    @router.delete(
        f"{item}/annotations/{{annotation_id}}",
        status_code=204,
        summary="Delete an annotation",
    )
    async def delete_annotation(
        annotation_id: Annotated[int, Path(ge=1, le=2**62)],
        identity: Annotated[Identity, routes.may("delete", "annotations")],
        obj: ResourceDep,
        request: Request,
        ctx: ContextDep,
    ) -> Response:
        if not await ctx.store.delete_annotation(obj.metadata.uid, annotation_id):
            raise Problem(404, f"Annotation {annotation_id} not found on this resource.")
        meta = obj.metadata
        await routes.audit(
            ctx, request, identity, "unannotate", meta.namespace, meta.name, 204, obj
        )
        return Response(status_code=204)

    # --- history, metrics, events ------------------------------------------------------
    @router.get(
        f"{item}/history",
        response_model=list[HistoryRead],
        summary="Change history (one entry per generation: spec and RFC 6902 patch), newest first",
    )
    async def history(
        identity: Annotated[Identity, routes.may("get")],
        obj: ResourceDep,
        ctx: ContextDep,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[HistoryRead]:
        rows = await ctx.store.history(obj.metadata.uid, limit=limit)
        return [HistoryRead.model_validate(dataclasses.asdict(r)) for r in rows]

    @router.get(
        f"{item}/metrics",
        response_model=list[MetricSeriesRead],
        summary="Metric samples since a time (default: the last hour)",
    )
    async def metrics(
        identity: Annotated[Identity, routes.may("get")],
        obj: ResourceDep,
        ctx: ContextDep,
        since: Annotated[
            datetime | None,
            Query(description="RFC 3339, within years 1-9999 in UTC; default now-1h."),
        ] = None,
        metric_name: Annotated[str | None, Query(alias="name", max_length=63)] = None,
    ) -> list[MetricSeriesRead]:
        start = utc_since(since) if since is not None else datetime.now(UTC) - timedelta(hours=1)
        rows = await ctx.store.metric_series(obj.metadata.uid, since=start, name=metric_name)
        return [MetricSeriesRead.model_validate(dataclasses.asdict(r)) for r in rows]

    @router.get(
        f"{item}/events",
        response_model=list[EventRead],
        summary="Kubernetes Events about this resource",
    )
    async def events(
        identity: Annotated[Identity, routes.may("get")],
        obj: ResourceDep,
        ctx: ContextDep,
    ) -> list[EventRead]:
        try:
            found = await ctx.client.list(
                Event,
                obj.metadata.namespace or EVENTS_OF_CLUSTER_OBJECTS,
                field_selector={"involvedObject.uid": obj.metadata.uid},
            )
        except kube_errors.ApiError as exc:
            raise problem_from_kube_error(exc, what="events") from None
        return [_event_read(e) for e in getattr(found, "items", found)]


def utc_since(since: datetime) -> datetime:
    """``since`` in UTC (naive means UTC), or a 422 naming ``query.since``.

    The database stores UTC, and a time near the ends of the calendar with an offset
    (``0001-01-01T00:00:00+01:00``) has no UTC value: converting it overflows.
    """
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    try:
        return since.astimezone(UTC)
    except OverflowError:
        message = "must be a time within years 1-9999 once converted to UTC"
        raise Problem(
            422,
            f"The request is invalid: query.since {message}.",
            slug="validation-error",
            errors=[FieldError("query.since", message)],
        ) from None


def _event_read(event: Any) -> EventRead:
    source = getattr(event, "source", None)
    component = getattr(source, "component", None) if source is not None else None
    return EventRead(
        type=event.type,
        reason=event.reason,
        message=event.message,
        count=event.count,
        first_timestamp=event.firstTimestamp or event.eventTime,
        last_timestamp=event.lastTimestamp or event.eventTime,
        source=component or getattr(event, "reportingComponent", None),
    )
