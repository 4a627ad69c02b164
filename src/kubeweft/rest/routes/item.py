"""``/api/<plural>/{namespace}/{name}``: the joined detail view, merge patch, delete.

A cluster-scoped model serves the same handlers at ``/api/<plural>/{name}``.

The detail reads the cache and the database in parallel (``views.get_detail``). A
patch reads the object from the cache (as fresh as this process's own last write to
it), merges the caller's ``spec``/``labels`` into it and writes it back with its
resourceVersion. That write is the precondition: if the cache was behind, the API
server refuses it with a conflict, and the next attempt reads the API server itself.
``If-Match`` makes a stale ETag a 412 (checked against the API server when the cache
disagrees), and a patch that would change nothing is confirmed on a live read before
it is answered without a write. A spec change carries the caller's name in the
``kubeweft.dev/last-changed-by`` annotation of the same write, so the reconciler can
attribute the deployment-history row without reading the database.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from pydantic import ValidationError

from kubeweft.api.changes import CHANGED_BY_ANNOTATION, changed_by_value
from kubeweft.auth.identity import Identity
from kubeweft.rest.admission import admit, warning_headers
from kubeweft.rest.context import AppContext
from kubeweft.rest.dependencies import ContextDep, NameParam
from kubeweft.rest.problems import (
    FieldError,
    Problem,
    field_errors_from_pydantic,
    problem_from_kube_error,
)
from kubeweft.rest.routes.model import ModelRoutes, etag_of, json_response, problem_doc
from kubeweft.runtime import errors as kube_errors
from kubeweft.views import ResourceNotFound, get_detail

__all__ = [
    "PATCH_RETRIES",
    "add_item_routes",
    "merge_patch",
    "parse_if_match",
    "restamp",
    "validated_spec",
]

PATCH_RETRIES = 5


def parse_if_match(value: str | None) -> frozenset[str] | None:
    """The resourceVersions an ``If-Match`` header accepts (None: no precondition).

    RFC 9110 §13.1.1: ``*`` holds for any current object (a missing one is a 404 anyway);
    a list of entity tags holds when any of them is the current one. A weak tag
    (``W/"7"``) names the same resourceVersion: the version is the object's state, and a
    proxy that compresses responses weakens the ETags it passes on. A list that names
    nothing (``,``) matches nothing.
    """
    if value is None or value.strip() == "*":
        return None
    tags = (tag.strip().removeprefix("W/").strip('"') for tag in value.split(","))
    return frozenset(tag for tag in tags if tag)


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


def validated_spec(spec_type: type[Any], wire: dict[str, Any], *, title: str) -> Any:
    """``wire`` (a spec in its JSON form) as the model's spec type; a 422 titled
    ``title`` naming each ``spec.*`` field it does not satisfy."""
    try:
        return spec_type.model_validate(wire)
    except ValidationError as exc:
        raise Problem(
            422,
            title,
            slug="validation-error",
            errors=field_errors_from_pydantic(exc.errors(), prefix="spec"),
        ) from None


def restamp(new: Any, current: Any, user: str) -> None:
    """After defaulting, the last-changed-by stamp of a spec change names the spec that is
    written (the defaulter may have added to it)."""
    annotations = new.metadata.annotations or {}
    before = (current.metadata.annotations or {}).get(CHANGED_BY_ANNOTATION)
    if annotations.get(CHANGED_BY_ANNOTATION) not in (None, before):
        wire = new.spec.model_dump(mode="json", by_alias=True, exclude_none=True)
        annotations[CHANGED_BY_ANNOTATION] = changed_by_value(user, wire)


def add_item_routes(router: APIRouter, routes: ModelRoutes) -> None:
    model, info, schemas = routes.model, routes.info, routes.schemas
    spec_type = routes.spec_type
    PatchBody = schemas.patch
    NamespaceArg = routes.namespace_param

    @router.get(
        routes.item_path,
        response_model=schemas.read,
        summary=f"Read a {info.kind} joined with its database rows",
    )
    async def read(
        namespace: NamespaceArg,  # type: ignore[valid-type]
        name: NameParam,
        ctx: ContextDep,
        identity: Annotated[Identity, routes.may("get")],
    ) -> Response:
        view = await get_detail(model, namespace, name, cluster=ctx.reader, records=ctx.store)
        if ctx.fields is not None:
            view = await ctx.fields.add_to_detail(model, view)
        return json_response(routes.read_of(view), headers={"ETag": etag_of(view.obj)})

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
            spec_patch = patch.spec.model_dump(mode="json", by_alias=True, exclude_unset=True)
            merged = merge_patch(old_wire, spec_patch)
            spec = validated_spec(spec_type, merged, title="The patched spec is invalid.")
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

    def precondition_failed(namespace: str | None, name: str, current: Any) -> Problem:
        headers = {"ETag": etag_of(current)} if current is not None else {}
        return Problem(
            412,
            f"{routes.what(namespace, name)} has changed since the ETag given in If-Match.",
            slug="precondition-failed",
            headers=headers,
        )

    async def current_of(
        ctx: AppContext,
        namespace: str | None,
        name: str,
        *,
        live: bool,
    ) -> Any:
        """The object to patch: the cache's (read-your-writes), or the API server's when
        ``live`` or when the cache does not hold it (yet)."""
        if not live:
            try:
                return await ctx.reader.get(model, namespace, name)
            except ResourceNotFound:
                pass
        try:
            return await ctx.client.get(model, name, namespace)
        except kube_errors.ApiError as exc:
            raise problem_from_kube_error(exc, what=routes.what(namespace, name)) from None

    @router.patch(
        routes.item_path,
        response_model=schemas.read,
        responses={
            409: problem_doc("Kept conflicting after retries."),
            412: problem_doc("If-Match does not match the resourceVersion."),
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
        namespace: NamespaceArg,  # type: ignore[valid-type]
        name: NameParam,
        body: PatchBody,  # type: ignore[valid-type]
        request: Request,
        ctx: ContextDep,
        identity: Annotated[Identity, routes.may("patch")],
        if_match: Annotated[str | None, Header(max_length=256)] = None,
    ) -> Response:
        what = routes.what(namespace, name)
        expected = parse_if_match(if_match)
        result: Any = None
        warnings: list[str] = []
        live = False  # the first attempt reads the cache; a retry, the API server
        for _attempt in range(PATCH_RETRIES):
            current = await current_of(ctx, namespace, name, live=live)
            if expected is not None and current.metadata.resourceVersion not in expected:
                if not live:  # the cache may be behind the ETag the caller holds
                    live = True
                    current = await current_of(ctx, namespace, name, live=live)
                if current.metadata.resourceVersion not in expected:
                    raise precondition_failed(namespace, name, current)
            new = patched(current, body, identity.user)
            if new is None:
                if not live:  # nothing to write against the cache: confirm it is current
                    live = True
                    continue
                result = current
                ctx.tracker.wrote(model, result)  # reads wait for the live version read
                break
            warnings = await admit(ctx, identity, "UPDATE", new, current, what=what)
            restamp(new, current, identity.user)
            try:
                result = await ctx.client.update(new)
                routes.wrote(ctx, result)
                break
            except kube_errors.Conflict:
                if expected is not None:
                    raise precondition_failed(namespace, name, None) from None
                live = True
                continue
            except kube_errors.ApiError as exc:
                status = exc.code or 502
                await routes.audit(
                    ctx, request, identity, "patch", namespace, name, status, current
                )
                raise problem_from_kube_error(exc, what=what) from None
        if result is None:
            raise Problem(409, f"{what} kept changing; retry.", slug="conflict")
        await routes.audit(ctx, request, identity, "patch", namespace, name, 200, result)
        view = await routes.detail_after_write(ctx, result)
        if ctx.fields is not None:
            view = await ctx.fields.add_to_detail(model, view, best_effort=True)
        headers = {"ETag": etag_of(result), **warning_headers(warnings)}
        return json_response(routes.read_of(view), headers=headers)

    @router.delete(
        routes.item_path,
        status_code=204,
        responses={202: {"description": "Deletion started; finalizers are running."}},
        summary=f"Delete a {info.kind}",
    )
    async def delete(
        namespace: NamespaceArg,  # type: ignore[valid-type]
        name: NameParam,
        request: Request,
        ctx: ContextDep,
        identity: Annotated[Identity, routes.may("delete")],
    ) -> Response:
        try:
            current = await ctx.client.get(model, name, namespace)
            await admit(ctx, identity, "DELETE", current, what=routes.what(namespace, name))
            await ctx.client.delete(model, name, namespace)
        except kube_errors.ApiError as exc:
            raise problem_from_kube_error(exc, what=routes.what(namespace, name)) from None
        ctx.tracker.deleted(model, namespace, name, current.metadata.uid)
        await routes.audit(ctx, request, identity, "delete", namespace, name, 204, current)
        try:
            remaining = await ctx.client.get(model, name, namespace)
        except kube_errors.NotFound:
            return Response(status_code=204)
        if remaining.metadata.uid == current.metadata.uid:
            return Response(status_code=202)
        return Response(status_code=204)
