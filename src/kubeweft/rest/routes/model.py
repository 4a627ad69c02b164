"""What every handler of a model's router derives from the model declaration."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from pydantic import BaseModel

from kubeweft.api import CustomResource, ModelInfo
from kubeweft.auth.identity import Identity
from kubeweft.logging import get_logger
from kubeweft.rest import bodies
from kubeweft.rest.context import AppContext
from kubeweft.rest.dependencies import ContextDep, NameParam, NamespaceParam, require
from kubeweft.rest.problems import PROBLEM_JSON, ProblemBody
from kubeweft.rest.schemas import ModelSchemas, schemas_for
from kubeweft.views import DatabaseUnavailable, DetailView, ListPage, ResourceRecords
from kubeweft.views.detail import build_detail, score_of
from kubeweft.views.detail_fields import DetailFields
from kubeweft.views.records import AuditEntry, MetricPoint, ResourceRef

__all__ = ["ModelRoutes", "etag_of", "json_response", "problem_doc"]

_log = get_logger("kubeweft.rest")


def problem_doc(description: str) -> dict[str, Any]:
    """An OpenAPI ``responses`` entry for a problem+json answer."""
    return {"model": ProblemBody, "content": {PROBLEM_JSON: {}}, "description": description}


def json_response(
    body: BaseModel | bytes, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """``body`` (a schema instance, or JSON already written) as ``application/json``."""
    return Response(
        body if isinstance(body, bytes) else body.model_dump_json(by_alias=True),
        status_code=status,
        media_type="application/json",
        headers=dict(headers or {}),
    )


def etag_of(obj: Any) -> str:
    return f'"{obj.metadata.resourceVersion}"'


async def _cluster_scope() -> None:
    """A cluster-scoped object's namespace: none."""
    return None


ClusterScope = Annotated[None, Depends(_cluster_scope)]


def _common(obj: Any, health: int) -> dict[str, Any]:
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


@dataclass(frozen=True)
class ModelRoutes:
    """One model's generated schemas plus the helpers its handlers share."""

    model: type[CustomResource]
    schemas: ModelSchemas

    @classmethod
    def of(cls, model: type[CustomResource], fields: Sequence[DetailFields] = ()) -> "ModelRoutes":
        return cls(model, schemas_for(model, fields))

    @property
    def info(self) -> ModelInfo:
        return self.model.model_info

    @property
    def spec_type(self) -> type[BaseModel]:
        return self.model.model_fields["spec"].annotation  # type: ignore[return-value]

    # --- scope ----------------------------------------------------------------------
    # A cluster-scoped model's paths have no namespace segment; its handlers get
    # ``namespace=None`` from a dependency instead of the path, so the client, the cache
    # and the authorizer (a SubjectAccessReview without a namespace: cluster-wide) are
    # asked exactly as for a namespaced model.

    @property
    def item_path(self) -> str:
        """The path of one object, relative to ``/api/<plural>``."""
        return "/{namespace}/{name}" if self.info.namespaced else "/{name}"

    @property
    def namespace_param(self) -> Any:
        """The annotation of a handler's ``namespace`` argument: the path segment, or
        None for a cluster-scoped model."""
        return NamespaceParam if self.info.namespaced else ClusterScope

    def what(self, namespace: str | None, name: str) -> str:
        if namespace is None:
            return f"{self.info.plural} {name}"
        return f"{self.info.plural} {namespace}/{name}"

    def path(self, namespace: str | None, name: str) -> str:
        if namespace is None:
            return f"/api/{self.info.plural}/{name}"
        return f"/api/{self.info.plural}/{namespace}/{name}"

    # --- dependencies -------------------------------------------------------------------

    def may(self, verb: str, subresource: str | None = None) -> Any:
        """Depend on the caller being authorized for ``verb`` on this model (or sub-resource)."""
        return Depends(require(verb, self.info.group, self.info.plural, subresource=subresource))

    @cached_property
    def loaded(self) -> Any:
        """Depend on the object named by the path, from the cache with read-your-writes,
        or a 404. Declare it after ``may(...)``: the caller is authorized before a
        missing name is revealed."""
        model = self.model
        NamespaceArg = self.namespace_param

        async def load(
            namespace: NamespaceArg,  # type: ignore[valid-type]
            name: NameParam,
            ctx: ContextDep,
        ) -> Any:
            return await ctx.reader.get(model, namespace, name)

        return Depends(load)

    # --- response bodies ----------------------------------------------------------------

    # Bodies are written by kubeweft.rest.bodies: the object's part once per version
    # through the schema, the database fields per request (no re-validation).

    @cached_property
    def object_parts(self) -> bodies.ObjectParts:
        schema = self.schemas.list_item
        database_fields = {"health_score", "latest_metrics", *self.schemas.project_fields}

        def render(obj: Any) -> bytes:
            item = schema.model_validate({**_common(obj, 0), "latest_metrics": {}})
            return item.model_dump_json(by_alias=True, exclude=database_fields)[1:-1].encode()

        return bodies.ObjectParts(render)

    def read_of(self, view: DetailView) -> bytes:
        """The ``<Kind>Read`` body of a detail view."""
        return bodies.detail_body(self.object_parts(view.obj), view)

    def list_of(self, page: ListPage) -> bytes:
        """The ``<Kind>List`` body of a page."""
        return bodies.list_body(self.object_parts, page)

    def item_json(
        self,
        obj: Any,
        latest: Mapping[str, MetricPoint] | None = None,
        fields: Mapping[str, Any] | None = None,
    ) -> str:
        """``obj`` as a ``<Kind>ListItem``, as live updates carry it: the object's part
        rendered as list bodies render it (``object_parts``), its ``latest`` samples and
        a project's own ``fields`` (wire form) — left empty when not given."""
        health = score_of(obj, None)
        return bodies.item_body(self.object_parts(obj), health, latest or {}, fields or {}).decode()

    def ref_of(self, obj: Any) -> ResourceRef:
        meta = obj.metadata
        return ResourceRef(meta.uid, self.info.kind, meta.namespace or "", meta.name)

    def wrote(self, ctx: AppContext, obj: Any) -> None:
        """``obj`` is the API server's answer to this request's write: the process's
        reads wait for it (the tracker), its cache returns it and its controllers hear
        of it before the watch delivers it (``Cache.mutation``)."""
        ctx.tracker.wrote(self.model, obj)
        if ctx.cache is not None:
            ctx.cache.mutation(obj)

    async def detail_after_write(self, ctx: AppContext, obj: Any) -> DetailView:
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

    # --- audit --------------------------------------------------------------------------

    async def audit(
        self,
        ctx: AppContext,
        request: Request,
        identity: Identity,
        verb: str,
        namespace: str | None,
        name: str,
        status_code: int,
        obj: Any = None,
    ) -> None:
        entry = AuditEntry(
            actor=identity.user,
            verb=verb,
            kind=self.info.kind,
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
