"""``/api/<plural>`` and ``/api/<plural>/{namespace}``: list with metrics, and create.

An all-namespace list shows only the namespaces the caller may ``list`` in: the
authorizer is asked before the page is cut, so hidden objects neither appear nor shift
page boundaries. A cluster-scoped model has no ``/{namespace}`` list, and its list is
one cluster-wide ``list`` check. Create goes to the API server; the reconciler is
started by the watch, never by the handler.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Query, Request, Response

from kubeweft.api import ObjectMeta
from kubeweft.api.changes import CHANGED_BY_ANNOTATION, changed_by_value
from kubeweft.auth.identity import Identity, ResourceAttributes
from kubeweft.rest.admission import admit, warning_headers
from kubeweft.rest.context import AppContext
from kubeweft.rest.dependencies import (
    DEFAULT_LIST_LIMITS,
    ContextDep,
    CurrentUser,
    ListLimits,
    NamespaceParam,
    check_access,
)
from kubeweft.rest.problems import problem_from_kube_error
from kubeweft.rest.routes.model import ModelRoutes, etag_of, json_response, problem_doc
from kubeweft.runtime import errors as kube_errors
from kubeweft.runtime.labels import LabelSelector
from kubeweft.views import ResourceRecords, list_with_metrics, pagination
from kubeweft.views.detail import build_detail
from kubeweft.views.listing import PageMemo

__all__ = [
    "CONTINUE_MAX_LENGTH",
    "SELECTOR_MAX_LENGTH",
    "add_collection_routes",
    "label_selector",
    "limit_query",
]

NamespaceFilter = Callable[[frozenset[str]], Awaitable[frozenset[str]]]

SELECTOR_MAX_LENGTH = 1024
CONTINUE_MAX_LENGTH = pagination.TOKEN_MAX_LENGTH


async def label_selector(
    value: Annotated[
        str | None,
        Query(
            alias="labelSelector",
            max_length=SELECTOR_MAX_LENGTH,
            description="A label selector (Kubernetes' string form).",
        ),
    ] = None,
) -> str | None:
    """The ``labelSelector`` query parameter, validated before any other work is done
    (``InvalidSelector`` is a 400 problem naming ``query.labelSelector``)."""
    if value:
        LabelSelector.parse(value)
    return value


SelectorQuery = Annotated[str | None, Depends(label_selector)]
ContinueQuery = Annotated[
    str | None,
    Query(
        alias="continue",
        max_length=CONTINUE_MAX_LENGTH,
        description="Token from the previous page.",
    ),
]


def limit_query(limits: ListLimits) -> Callable[..., Awaitable[int]]:
    """A dependency reading ``limit``: ``limits.default`` when absent; past
    ``limits.maximum`` (or below 1) a 422 naming ``query.limit``."""

    async def limit(
        value: Annotated[
            int,
            Query(
                alias="limit",
                ge=1,
                le=limits.maximum,
                description=(
                    f"Page size: at most {limits.maximum}, {limits.default} when not given. "
                    "A page that is not the last carries a `continue` token."
                ),
            ),
        ] = limits.default,
    ) -> int:
        return value

    return limit


async def namespace_filter(
    ctx: AppContext, identity: Identity, group: str, plural: str
) -> NamespaceFilter | None:
    """Which namespaces an all-namespace list may show (None: every namespace).

    Uses the authorizer's ``allowed_namespaces(identity, template, namespaces)`` when it
    has one (the SubjectAccessReview authorizer batches and caches it), otherwise asks
    ``authorize`` at cluster scope and then per namespace present.
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


def add_collection_routes(
    router: APIRouter, routes: ModelRoutes, limits: ListLimits = DEFAULT_LIST_LIMITS
) -> None:
    model, info, schemas = routes.model, routes.info, routes.schemas
    LimitQuery = Annotated[int, Depends(limit_query(limits))]
    plural, group = info.plural, info.group
    CreateBody = schemas.create
    memo = PageMemo()

    async def list_page(
        ctx: AppContext,
        identity: Identity,
        namespace: str | None,
        selector: str | None,
        limit: int,
        token: str | None,
    ) -> Response:
        only = None
        if namespace is None and info.namespaced:
            only = await namespace_filter(ctx, identity, group, plural)

        async def render(only: NamespaceFilter | None) -> tuple[bytes, list[str]]:
            page = await list_with_metrics(
                model,
                namespace,
                selector,
                limit,
                token,
                cluster=ctx.reader,
                records=ctx.store,
                namespace_filter=only,
            )
            if ctx.fields is not None:  # the project's own fields: one call for the page
                page = await ctx.fields.add_to_page(model, page)
            return routes.list_of(page), [item.obj.metadata.uid for item in page.items]

        if ctx.fields is not None and ctx.fields.declared_for(model):
            # A project's own fields may read anything: such a page is never kept.
            return json_response((await render(only))[0])
        # A page asked again with nothing it shows changed is the same bytes (PageMemo).
        body = await memo.body(
            model,
            (namespace, selector, limit, token),
            cluster=ctx.reader,
            records=ctx.store,
            namespace_filter=only,
            render=render,
        )
        return json_response(body)

    # A cluster-scoped list is one cluster-wide ``list`` check; a namespaced one shows
    # the namespaces the caller may list in.
    ListIdentity = CurrentUser if info.namespaced else Annotated[Identity, routes.may("list")]

    @router.get(
        "",
        response_model=schemas.list_page,
        summary=f"List {plural} in all namespaces" if info.namespaced else f"List {plural}",
    )
    async def list_all(
        ctx: ContextDep,
        identity: ListIdentity,  # type: ignore[valid-type]
        label_selector: SelectorQuery,
        limit: LimitQuery,
        continue_: ContinueQuery = None,
    ) -> Response:
        return await list_page(ctx, identity, None, label_selector, limit, continue_)

    if info.namespaced:  # a cluster-scoped model's /{name} is an object, not a namespace

        @router.get(
            "/{namespace}",
            response_model=schemas.list_page,
            summary=f"List {plural} in a namespace",
        )
        async def list_namespaced(
            namespace: NamespaceParam,
            ctx: ContextDep,
            identity: Annotated[Identity, routes.may("list")],
            label_selector: SelectorQuery,
            limit: LimitQuery,
            continue_: ContinueQuery = None,
        ) -> Response:
            return await list_page(ctx, identity, namespace, label_selector, limit, continue_)

    @router.post(
        "",
        status_code=201,
        response_model=schemas.read,
        responses={409: problem_doc("The name is taken.")},
        summary=f"Create a {info.kind}",
    )
    async def create(
        body: CreateBody,  # type: ignore[valid-type]
        request: Request,
        ctx: ContextDep,
        identity: CurrentUser,
    ) -> Response:
        data: Any = body
        namespace, name = getattr(data, "namespace", None), data.name
        await check_access(ctx, identity, ResourceAttributes("create", group, plural, namespace))
        obj = model(
            metadata=ObjectMeta(name=name, namespace=namespace, labels=data.labels or None),
            spec=data.spec,
        )
        warnings = await admit(ctx, identity, "CREATE", obj, what=routes.what(namespace, name))
        spec_wire: Any = obj.to_dict().get("spec", {})
        obj.metadata.annotations = {
            **(obj.metadata.annotations or {}),
            CHANGED_BY_ANNOTATION: changed_by_value(identity.user, spec_wire),
        }
        try:
            created = await ctx.client.create(obj)
        except kube_errors.ApiError as exc:
            await routes.audit(ctx, request, identity, "create", namespace, name, exc.code or 502)
            raise problem_from_kube_error(exc, what=routes.what(namespace, name)) from None
        routes.wrote(ctx, created)
        await routes.audit(ctx, request, identity, "create", namespace, name, 201, created)
        view = build_detail(created, ResourceRecords())  # a new UID has no rows yet
        if ctx.fields is not None:
            view = ctx.fields.with_defaults(view)
        headers = {
            "Location": routes.path(namespace, name),
            "ETag": etag_of(created),
            **warning_headers(warnings),
        }
        return json_response(routes.read_of(view), 201, headers)
