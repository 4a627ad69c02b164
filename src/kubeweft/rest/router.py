"""One router per model, generated from the model's declaration.

``model_router(WebApp)`` serves SPEC §6's endpoint table under ``/api/webapps``: list,
detail, create, merge patch, delete, and the annotations/history/metrics/events
sub-resources. Everything model-specific — the plural, the API group used for
authorization, the spec class that validates requests — is read from the model, so a
second model gets its endpoints by being listed in ``AppContext.models``.

Writes go to the API server (never to the cache); reads come from the cache through
``views`` with read-your-writes. Spec changes carry the caller's name in the
``kubeweft.dev/last-changed-by`` annotation in the same write, so the reconciler can
attribute the deployment-history row without reading the database.

(No ``from __future__ import annotations`` here: FastAPI resolves the generated
schema classes from the handlers' annotations at runtime.)
"""

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from lightkube.resources.core_v1 import Event
from pydantic import BaseModel, ValidationError

from kubeweft.api import CustomResource, ObjectMeta
from kubeweft.api.changes import CHANGED_BY_ANNOTATION, changed_by_value
from kubeweft.auth.identity import Identity, ResourceAttributes
from kubeweft.logging import get_logger
from kubeweft.rest.context import AppContext
from kubeweft.rest.dependencies import (
    ContextDep,
    CurrentUser,
    NameParam,
    NamespaceParam,
    check_access,
    require,
)
from kubeweft.rest.problems import (
    PROBLEM_JSON,
    FieldError,
    Problem,
    ProblemBody,
    field_errors_from_pydantic,
    problem_from_kube_error,
)
from kubeweft.rest.schemas import (
    AnnotationCreate,
    AnnotationRead,
    EventRead,
    HistoryRead,
    MetricSeriesRead,
    ModelSchemas,
    schemas_for,
)
from kubeweft.runtime import errors as kube_errors
from kubeweft.runtime.labels import LabelSelector
from kubeweft.views import (
    DatabaseUnavailable,
    DetailView,
    ListPage,
    ResourceRecords,
    get_detail,
    list_with_metrics,
)
from kubeweft.views.detail import build_detail
from kubeweft.views.records import AuditEntry, ResourceRef

__all__ = ["PROBLEM_RESPONSES", "model_router"]

_log = get_logger("kubeweft.rest")

PATCH_RETRIES = 5

_PROBLEM = {"model": ProblemBody, "content": {PROBLEM_JSON: {}}}
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {**_PROBLEM, "description": text}
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


def _json(
    model: BaseModel, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        model.model_dump_json(by_alias=True),
        status_code=status,
        media_type="application/json",
        headers=dict(headers or {}),
    )


def etag_of(obj: Any) -> str:
    return f'"{obj.metadata.resourceVersion}"'


def _parse_if_match(value: str | None) -> str | None:
    if value is None or value.strip() == "*":
        return None
    tag = value.split(",")[0].strip()
    tag = tag.removeprefix("W/")
    return tag.strip('"')


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def label_selector(
    value: Annotated[
        str | None,
        Query(alias="labelSelector", max_length=1024, description="A label selector."),
    ] = None,
) -> str | None:
    """The ``labelSelector`` query parameter, validated before any other work is done
    (``InvalidSelector`` is a 400 problem naming ``query.labelSelector``)."""
    if value:
        LabelSelector.parse(value)
    return value


def model_router(model: type[CustomResource]) -> APIRouter:
    """The router serving ``/api/<plural>`` for ``model``."""
    info = model.model_info
    plural, group = info.plural, info.group
    schemas: ModelSchemas = schemas_for(model)
    spec_type: type[BaseModel] = model.model_fields["spec"].annotation  # type: ignore[assignment]
    CreateBody = schemas.create
    PatchBody = schemas.patch
    router = APIRouter(prefix=f"/api/{plural}", tags=[plural], responses=PROBLEM_RESPONSES)

    def what(namespace: str, name: str) -> str:
        return f"{plural} {namespace}/{name}"

    def common(obj: Any, health: int) -> dict[str, Any]:
        meta = obj.metadata
        return {
            "uid": meta.uid,
            "name": meta.name,
            "namespace": meta.namespace,
            "labels": meta.labels or {},
            "resource_version": meta.resourceVersion,
            "generation": meta.generation,
            "created_at": meta.creationTimestamp,
            "deleting": meta.deletionTimestamp is not None,
            "spec": obj.spec,
            "status": getattr(obj, "status", None),
            "health_score": health,
        }

    def read_of(view: DetailView) -> BaseModel:
        return schemas.read.model_validate(
            {
                **common(view.obj, view.health_score),
                "deployment_history": [dataclasses.asdict(h) for h in view.deployment_history],
                "metrics": {k: dataclasses.asdict(v) for k, v in view.metrics.items()},
                "annotations": [dataclasses.asdict(a) for a in view.annotations],
            }
        )

    def list_of(page: ListPage) -> BaseModel:
        items = [
            {
                **common(item.obj, item.health_score),
                "latest_metrics": {
                    k: dataclasses.asdict(v) for k, v in item.latest_metrics.items()
                },
            }
            for item in page.items
        ]
        return schemas.list_page.model_validate({"items": items, "continue": page.continue_token})

    def ref_of(obj: Any) -> ResourceRef:
        meta = obj.metadata
        return ResourceRef(meta.uid, info.kind, meta.namespace or "", meta.name)

    async def audit(
        ctx: AppContext,
        request: Request,
        identity: Identity,
        verb: str,
        namespace: str,
        name: str,
        status_code: int,
        obj: Any = None,
    ) -> None:
        entry = AuditEntry(
            actor=identity.user,
            verb=verb,
            kind=info.kind,
            namespace=namespace,
            name=name,
            uid=obj.metadata.uid if obj is not None else None,
            outcome="success" if status_code < 400 else "failure",
            status_code=status_code,
            request_id=getattr(request.state, "request_id", None),
        )
        try:
            await ctx.store.audit(entry)
        except DatabaseUnavailable as exc:
            # The change itself succeeded in Kubernetes; failing the request now would
            # make the client retry a write that already happened.
            _log.error("audit row not written", error=str(exc.__cause__ or exc), **entry.__dict__)

    async def detail_after_write(ctx: AppContext, obj: Any) -> DetailView:
        try:
            rows = await ctx.store.resource_records(
                obj.metadata.uid,
                history_limit=10,
                since=datetime.now(UTC) - timedelta(minutes=5),
            )
        except DatabaseUnavailable as exc:
            _log.warning("database side of the response left empty", error=str(exc.__cause__))
            rows = ResourceRecords()
        return build_detail(obj, rows)

    async def load(namespace: NamespaceParam, name: NameParam, ctx: ContextDep) -> Any:
        return await ctx.reader.get(model, namespace, name)

    ResourceDep = Annotated[Any, Depends(load)]

    def may(verb: str, subresource: str | None = None) -> Any:
        """Depend on the caller being authorized for ``verb`` on this model (or sub-resource)."""
        return Depends(require(verb, group, plural, subresource=subresource))

    # --- list -------------------------------------------------------------------------
    SelectorQuery = Annotated[str | None, Depends(label_selector)]
    LimitQuery = Annotated[int | None, Query(ge=1, le=1000, description="Page size.")]
    ContinueQuery = Annotated[
        str | None,
        Query(alias="continue", max_length=1024, description="Token from the previous page."),
    ]

    async def _list(
        ctx: AppContext,
        identity: Identity,
        namespace: str | None,
        selector: str | None,
        limit: int | None,
        token: str | None,
    ) -> Response:
        namespace_filter = None
        if namespace is None:
            namespace_filter = await _namespace_filter(ctx, identity)
        page = await list_with_metrics(
            model,
            namespace,
            selector,
            limit,
            token,
            cluster=ctx.reader,
            records=ctx.store,
            namespace_filter=namespace_filter,
        )
        return _json(list_of(page))

    async def _namespace_filter(ctx: AppContext, identity: Identity) -> Any:
        """Which namespaces an all-namespace list may show (None: every namespace).

        Uses the authorizer's ``allowed_namespaces(identity, template, namespaces)`` when
        it has one (the SubjectAccessReview authorizer batches and caches it), otherwise
        asks ``authorize`` at cluster scope and then per namespace present.
        """
        template = ResourceAttributes("list", group, plural)
        hook = getattr(ctx.authorizer, "allowed_namespaces", None)
        if hook is not None:

            async def by_hook(present: frozenset[str]) -> frozenset[str]:
                return frozenset(await hook(identity, template, present))

            return by_hook
        if (await ctx.authorizer.authorize(identity, template)).allowed:
            return None

        async def per_namespace(present: frozenset[str]) -> frozenset[str]:
            allowed: set[str] = set()

            async def check(ns: str) -> None:
                scoped = ResourceAttributes("list", group, plural, namespace=ns)
                if (await ctx.authorizer.authorize(identity, scoped)).allowed:
                    allowed.add(ns)

            async with anyio.create_task_group() as tg:
                for ns in present:
                    tg.start_soon(check, ns)
            return frozenset(allowed)

        return per_namespace

    @router.get("", response_model=schemas.list_page, summary=f"List {plural} in all namespaces")
    async def list_all(
        ctx: ContextDep,
        identity: CurrentUser,
        label_selector: SelectorQuery = None,
        limit: LimitQuery = None,
        continue_: ContinueQuery = None,
    ) -> Response:
        return await _list(ctx, identity, None, label_selector, limit, continue_)

    @router.get(
        "/{namespace}",
        response_model=schemas.list_page,
        summary=f"List {plural} in a namespace",
    )
    async def list_namespaced(
        namespace: NamespaceParam,
        ctx: ContextDep,
        identity: Annotated[Identity, may("list")],
        label_selector: SelectorQuery = None,
        limit: LimitQuery = None,
        continue_: ContinueQuery = None,
    ) -> Response:
        return await _list(ctx, identity, namespace, label_selector, limit, continue_)

    # --- detail -----------------------------------------------------------------------
    @router.get(
        "/{namespace}/{name}",
        response_model=schemas.read,
        summary=f"Read a {info.kind} joined with its database rows",
    )
    async def read(
        namespace: NamespaceParam,
        name: NameParam,
        ctx: ContextDep,
        identity: Annotated[Identity, may("get")],
    ) -> Response:
        view = await get_detail(model, namespace, name, cluster=ctx.reader, records=ctx.store)
        return _json(read_of(view), headers={"ETag": etag_of(view.obj)})

    # --- create -----------------------------------------------------------------------
    @router.post(
        "",
        status_code=201,
        response_model=schemas.read,
        responses={409: {**_PROBLEM, "description": "The name is taken."}},
        summary=f"Create a {info.kind}",
    )
    async def create(
        body: CreateBody,  # type: ignore[valid-type]
        request: Request,
        ctx: ContextDep,
        identity: CurrentUser,
    ) -> Response:
        data: Any = body
        namespace, name = data.namespace, data.name
        await check_access(ctx, identity, ResourceAttributes("create", group, plural, namespace))
        spec_wire = data.spec.model_dump(mode="json", by_alias=True, exclude_none=True)
        obj = model(
            metadata=ObjectMeta(
                name=name,
                namespace=namespace,
                labels=data.labels or None,
                annotations={CHANGED_BY_ANNOTATION: changed_by_value(identity.user, spec_wire)},
            ),
            spec=data.spec,
        )
        path = f"/api/{plural}/{namespace}/{name}"
        try:
            created = await ctx.client.create(obj)
        except kube_errors.ApiError as exc:
            await audit(ctx, request, identity, "create", namespace, name, exc.code or 502)
            raise problem_from_kube_error(exc, what=what(namespace, name)) from None
        ctx.tracker.wrote(model, created)
        await audit(ctx, request, identity, "create", namespace, name, 201, created)
        view = build_detail(created, ResourceRecords())  # a new UID has no rows yet
        headers = {"Location": path, "ETag": etag_of(created)}
        return _json(read_of(view), 201, headers)

    # --- patch ------------------------------------------------------------------------
    def patched(current: Any, patch: Any, user: str) -> Any | None:
        """The object with ``patch`` applied, or None when nothing would change."""
        fields = patch.model_fields_set
        new = current.model_copy(deep=True)
        changed = False
        if "spec" in fields:
            if patch.spec is None:
                raise Problem(
                    422,
                    "spec cannot be removed.",
                    slug="validation-error",
                    errors=[FieldError("spec", "spec is required")],
                )
            old_wire = current.to_dict().get("spec", {})
            merged = merge_patch(old_wire, patch.spec)
            try:
                spec = spec_type.model_validate(merged)
            except ValidationError as exc:
                raise Problem(
                    422,
                    "The patched spec is invalid.",
                    slug="validation-error",
                    errors=field_errors_from_pydantic(exc.errors(), prefix="spec"),
                ) from None
            new_wire = spec.model_dump(mode="json", by_alias=True, exclude_none=True)
            if new_wire != old_wire:
                new.spec = spec
                annotations = dict(new.metadata.annotations or {})
                annotations[CHANGED_BY_ANNOTATION] = changed_by_value(user, new_wire)
                new.metadata.annotations = annotations
                changed = True
        if "labels" in fields and patch.labels is not None:
            labels = merge_patch(current.metadata.labels or {}, patch.labels)
            if labels != (current.metadata.labels or {}):
                new.metadata.labels = labels
                changed = True
        return new if changed else None

    @router.patch(
        "/{namespace}/{name}",
        response_model=schemas.read,
        responses={
            409: {**_PROBLEM, "description": "Kept conflicting after retries."},
            412: {**_PROBLEM, "description": "If-Match does not match the resourceVersion."},
        },
        openapi_extra={
            "requestBody": {
                "content": {
                    "application/merge-patch+json": {
                        "schema": {"$ref": f"#/components/schemas/{info.kind}Patch"}
                    }
                }
            }
        },
        summary=f"Merge-patch a {info.kind}'s spec and labels",
    )
    async def patch(
        namespace: NamespaceParam,
        name: NameParam,
        body: PatchBody,  # type: ignore[valid-type]
        request: Request,
        ctx: ContextDep,
        identity: Annotated[Identity, may("patch")],
        if_match: Annotated[str | None, Header(max_length=256)] = None,
    ) -> Response:
        expected = _parse_if_match(if_match)
        result: Any = None
        for _attempt in range(PATCH_RETRIES):
            try:
                current = await ctx.client.get(model, name, namespace)
            except kube_errors.ApiError as exc:
                raise problem_from_kube_error(exc, what=what(namespace, name)) from None
            if expected is not None and current.metadata.resourceVersion != expected:
                raise _precondition_failed(namespace, name, current)
            new = patched(current, body, identity.user)
            if new is None:
                result = current
                break
            try:
                result = await ctx.client.update(new)
                break
            except kube_errors.Conflict:
                if expected is not None:
                    raise _precondition_failed(namespace, name, None) from None
                continue
            except kube_errors.ApiError as exc:
                await audit(
                    ctx, request, identity, "patch", namespace, name, exc.code or 502, current
                )
                raise problem_from_kube_error(exc, what=what(namespace, name)) from None
        if result is None:
            raise Problem(409, f"{what(namespace, name)} kept changing; retry.", slug="conflict")
        ctx.tracker.wrote(model, result)
        await audit(ctx, request, identity, "patch", namespace, name, 200, result)
        view = await detail_after_write(ctx, result)
        return _json(read_of(view), headers={"ETag": etag_of(result)})

    def _precondition_failed(namespace: str, name: str, current: Any) -> Problem:
        headers = {"ETag": etag_of(current)} if current is not None else {}
        return Problem(
            412,
            f"{what(namespace, name)} has changed since the ETag given in If-Match.",
            slug="precondition-failed",
            headers=headers,
        )

    # --- delete -----------------------------------------------------------------------
    @router.delete(
        "/{namespace}/{name}",
        status_code=204,
        responses={202: {"description": "Deletion started; finalizers are running."}},
        summary=f"Delete a {info.kind}",
    )
    async def delete(
        namespace: NamespaceParam,
        name: NameParam,
        request: Request,
        ctx: ContextDep,
        identity: Annotated[Identity, may("delete")],
    ) -> Response:
        try:
            current = await ctx.client.get(model, name, namespace)
            await ctx.client.delete(model, name, namespace)
        except kube_errors.ApiError as exc:
            raise problem_from_kube_error(exc, what=what(namespace, name)) from None
        ctx.tracker.deleted(model, namespace, name, current.metadata.uid)
        await audit(ctx, request, identity, "delete", namespace, name, 204, current)
        try:
            remaining = await ctx.client.get(model, name, namespace)
        except kube_errors.NotFound:
            return Response(status_code=204)
        if remaining.metadata.uid == current.metadata.uid:
            return Response(status_code=202)
        return Response(status_code=204)

    # --- annotations (database only) --------------------------------------------------
    @router.get(
        "/{namespace}/{name}/annotations",
        response_model=list[AnnotationRead],
        summary="List annotations",
    )
    async def list_annotations(
        identity: Annotated[Identity, may("get")],
        obj: ResourceDep,
        ctx: ContextDep,
    ) -> list[AnnotationRead]:
        rows = await ctx.store.annotations(obj.metadata.uid)
        return [AnnotationRead.model_validate(dataclasses.asdict(r)) for r in rows]

    @router.post(
        "/{namespace}/{name}/annotations",
        status_code=201,
        response_model=AnnotationRead,
        summary="Add an annotation",
    )
    async def add_annotation(
        body: AnnotationCreate,
        identity: Annotated[Identity, may("create", "annotations")],
        obj: ResourceDep,
        request: Request,
        ctx: ContextDep,
    ) -> Response:
        row = await ctx.store.add_annotation(ref_of(obj), author=identity.user, body=body.body)
        path = f"/api/{plural}/{obj.metadata.namespace}/{obj.metadata.name}/annotations/{row.id}"
        meta = obj.metadata
        await audit(ctx, request, identity, "annotate", meta.namespace, meta.name, 201, obj)
        return _json(
            AnnotationRead.model_validate(dataclasses.asdict(row)), 201, {"Location": path}
        )

    @router.delete(
        "/{namespace}/{name}/annotations/{annotation_id}",
        status_code=204,
        summary="Delete an annotation",
    )
    async def delete_annotation(
        annotation_id: Annotated[int, Path(ge=1, le=2**62)],
        identity: Annotated[Identity, may("delete", "annotations")],
        obj: ResourceDep,
        request: Request,
        ctx: ContextDep,
    ) -> Response:
        if not await ctx.store.delete_annotation(obj.metadata.uid, annotation_id):
            raise Problem(404, f"Annotation {annotation_id} not found on this resource.")
        meta = obj.metadata
        await audit(ctx, request, identity, "unannotate", meta.namespace, meta.name, 204, obj)
        return Response(status_code=204)

    # --- history, metrics, events ------------------------------------------------------
    @router.get(
        "/{namespace}/{name}/history",
        response_model=list[HistoryRead],
        summary="Deployment history, newest first",
    )
    async def history(
        identity: Annotated[Identity, may("get")],
        obj: ResourceDep,
        ctx: ContextDep,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[HistoryRead]:
        rows = await ctx.store.history(obj.metadata.uid, limit=limit)
        return [HistoryRead.model_validate(dataclasses.asdict(r)) for r in rows]

    @router.get(
        "/{namespace}/{name}/metrics",
        response_model=list[MetricSeriesRead],
        summary="Metric samples since a time (default: the last hour)",
    )
    async def metrics(
        identity: Annotated[Identity, may("get")],
        obj: ResourceDep,
        ctx: ContextDep,
        since: Annotated[datetime | None, Query(description="RFC 3339; default now-1h.")] = None,
        metric_name: Annotated[str | None, Query(alias="name", max_length=63)] = None,
    ) -> list[MetricSeriesRead]:
        start = since or datetime.now(UTC) - timedelta(hours=1)
        if start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        rows = await ctx.store.metric_series(obj.metadata.uid, since=start, name=metric_name)
        return [MetricSeriesRead.model_validate(dataclasses.asdict(r)) for r in rows]

    @router.get(
        "/{namespace}/{name}/events",
        response_model=list[EventRead],
        summary="Kubernetes Events about this resource",
    )
    async def events(
        identity: Annotated[Identity, may("get")],
        obj: ResourceDep,
        ctx: ContextDep,
    ) -> list[EventRead]:
        try:
            found = await ctx.client.list(
                Event,
                obj.metadata.namespace,
                field_selector={"involvedObject.uid": obj.metadata.uid},
            )
        except kube_errors.ApiError as exc:
            raise problem_from_kube_error(exc, what="events") from None
        return [_event_read(e) for e in getattr(found, "items", found)]

    return router


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
