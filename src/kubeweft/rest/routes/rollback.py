"""``POST /api/<plural>/{namespace}/{name}/rollback``: write a past generation's spec back.

The body names a generation (``{"generation": 3}``); its spec is read from the change
history the framework keeps (``ctx.store.history_entry``), and written to the object
as an update: the same spec validation and admission rules as a patch, the same
``update`` permission, audited as ``rollback``. ``If-Match`` is required (428 without
it): a rollback chosen from a timeline must not silently undo a change made since the
timeline was read. The write carries the caller and the generation in the
``kubeweft.dev/last-changed-by`` stamp (``kubeweft.api.changes``), so the history row
of the generation it creates names both.

docs/design/rest.md explains why this is a POST on a sub-resource, as Kubernetes' own
``deployments/rollback`` was, rather than a PATCH of the object.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response

from kubeweft.api.changes import CHANGED_BY_ANNOTATION, changed_by_value
from kubeweft.auth.identity import Identity
from kubeweft.rest.admission import admit, warning_headers
from kubeweft.rest.dependencies import ContextDep, NameParam
from kubeweft.rest.problems import FieldError, Problem, problem_from_kube_error
from kubeweft.rest.routes.item import parse_if_match, validated_spec
from kubeweft.rest.routes.model import ModelRoutes, etag_of, json_response, problem_doc
from kubeweft.rest.schemas import RollbackCreate
from kubeweft.runtime import errors as kube_errors

__all__ = ["add_rollback_route"]

IF_MATCH_FIELD = "header.if-match"


def add_rollback_route(router: APIRouter, routes: ModelRoutes) -> None:
    model, info, schemas = routes.model, routes.info, routes.schemas
    spec_type = routes.spec_type
    NamespaceArg = routes.namespace_param

    def precondition_failed(namespace: str | None, name: str, current: Any) -> Problem:
        headers = {"ETag": etag_of(current)} if current is not None else {}
        return Problem(
            412,
            f"{routes.what(namespace, name)} has changed since the ETag given in If-Match.",
            slug="precondition-failed",
            errors=[FieldError(IF_MATCH_FIELD, "does not match the current ETag")],
            headers=headers,
        )

    @router.post(
        f"{routes.item_path}/rollback",
        response_model=schemas.read,
        responses={
            412: problem_doc("If-Match does not match the current ETag."),
            428: problem_doc("If-Match is required."),
        },
        summary=f"Roll a {info.kind} back to a past generation's spec",
        description=(
            "Writes the spec recorded in the history for `generation` back to the object, "
            "as an update (same validation, admission rules and `update` permission). "
            "Requires `If-Match` with the object's current ETag. The history row of the "
            "generation this creates has `rolledBackTo` set. A spec equal to the current "
            "one is not written (200, same ETag)."
        ),
    )
    async def rollback(
        namespace: NamespaceArg,  # type: ignore[valid-type]
        name: NameParam,
        body: RollbackCreate,
        request: Request,
        ctx: ContextDep,
        identity: Annotated[Identity, routes.may("update")],
        if_match: Annotated[
            str | None,
            Header(
                max_length=256,
                description="Required (428 without it): the object's current ETag.",
            ),
        ] = None,
    ) -> Response:
        what = routes.what(namespace, name)
        expected = parse_if_match(if_match)
        if expected is None:
            raise Problem(
                428,
                f"Rolling back {what} requires If-Match with its current ETag.",
                slug="precondition-required",
                errors=[FieldError(IF_MATCH_FIELD, "required: the ETag of the current object")],
            )
        try:
            current = await ctx.client.get(model, name, namespace)
        except kube_errors.ApiError as exc:
            raise problem_from_kube_error(exc, what=what) from None
        if current.metadata.resourceVersion not in expected:
            raise precondition_failed(namespace, name, current)
        entry = await ctx.store.history_entry(current.metadata.uid, body.generation)
        if entry is None:
            message = f"generation {body.generation} is not in the history of {what}"
            raise Problem(
                422,
                f"Cannot roll back: {message}.",
                slug="validation-error",
                errors=[FieldError("generation", message)],
            )
        # The model may have changed since that generation: a 422 names the field.
        spec = validated_spec(
            spec_type,
            entry.spec,
            title="That generation's spec is not valid for the model any more.",
        )
        result = current
        warnings: list[str] = []
        if current.to_dict().get("spec", {}) != spec.model_dump(
            mode="json", by_alias=True, exclude_none=True
        ):
            new = current.model_copy(deep=True)
            new.spec = spec
            warnings = await admit(ctx, identity, "UPDATE", new, current, what=what)
            wire = new.to_dict().get("spec", {})
            new.metadata.annotations = {
                **(new.metadata.annotations or {}),
                CHANGED_BY_ANNOTATION: changed_by_value(
                    identity.user, wire, rolled_back_to=body.generation
                ),
            }
            try:
                result = await ctx.client.update(new)
            except kube_errors.Conflict:
                raise precondition_failed(namespace, name, None) from None
            except kube_errors.ApiError as exc:
                status = exc.code or 502
                await routes.audit(
                    ctx, request, identity, "rollback", namespace, name, status, current
                )
                raise problem_from_kube_error(exc, what=what) from None
            routes.wrote(ctx, result)
        await routes.audit(ctx, request, identity, "rollback", namespace, name, 200, result)
        view = await routes.detail_after_write(ctx, result)
        if ctx.fields is not None:
            view = await ctx.fields.add_to_detail(model, view, best_effort=True)
        headers = {"ETag": etag_of(result), **warning_headers(warnings)}
        return json_response(routes.read_of(view), headers=headers)
