"""The dashboard's pages: a table and a detail page per registered model, and sign-in.

Nothing here names a model: each page reads the model's declaration (plural, kind,
printer columns, scope, spec and status fields) from the models the application
registered. Pages are rendered on the server (Jinja2) from the same views the REST
API serves, after the REST layer's own authentication and authorization checks
(``check_access``, and the namespace filter of an all-namespace list), so a page never
shows what ``GET /api/...`` would refuse. The browser's writes (annotations) and live
updates go to ``/api`` itself.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import parse_qsl, urlencode

import jsonpatch
import yaml
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kubeweft.api import CustomResource
from kubeweft.auth.identity import AuthenticationError, Identity, ResourceAttributes
from kubeweft.rest.context import AppContext
from kubeweft.rest.dependencies import ContextDep, check_access
from kubeweft.rest.problems import Problem
from kubeweft.rest.routes.collection import namespace_filter
from kubeweft.rest.routes.owned import visible_owned
from kubeweft.ui.charts import DEFAULT_WINDOW, SLICES, WINDOWS, charts
from kubeweft.ui.forms import spec_form
from kubeweft.ui.oidc import OidcSignIn, oidc_router
from kubeweft.ui.session import Sessions
from kubeweft.ui.table_chrome import TableChrome
from kubeweft.ui.table_rows import RowCache, age_text, health_word
from kubeweft.views import DetailView, get_detail
from kubeweft.views.errors import ResourceNotFound
from kubeweft.views.table import TableQuery, UnknownField, query_table, table_fields

if TYPE_CHECKING:  # Jinja2 loads with the first page asked, not at start
    import jinja2

__all__ = ["RESERVED_SEGMENTS", "UI_PREFIX", "dashboard_router"]

UI_PREFIX = "/ui"
#: The dashboard's own paths beside ``/ui/<plural>``: no model may take one as its plural.
RESERVED_SEGMENTS = frozenset({"assets", "sign-in", "sign-out"})
PAGE_SIZE = 50
HISTORY_SHOWN = 50
_MAX_FORM_BYTES = 16_384


@functools.cache
def _templates() -> jinja2.Environment:
    """The pages' templates, made on the first page asked: Jinja2 and the compiled
    templates (≈ 3 MiB) stay out of a process whose dashboard nobody opens."""
    import jinja2

    templates = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    templates.filters["health_word"] = health_word
    templates.filters["age"] = _age
    templates.filters["yaml"] = lambda value: yaml.safe_dump(value, sort_keys=False).rstrip()
    return templates


def _age(value: Any) -> str:
    if not value:
        return ""
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return age_text((datetime.now(UTC) - when).total_seconds())


class _Shown(NamedTuple):
    """One object's page, ready to render (``object_page``)."""

    model: type[CustomResource]
    identity: Identity
    namespace: str | None
    name: str
    view: DetailView


def dashboard_router(
    models: Sequence[type[CustomResource]], sessions: Sessions, oidc: OidcSignIn | None = None
) -> APIRouter:
    by_plural = {model.model_info.plural: model for model in models}
    router = APIRouter(prefix=UI_PREFIX, include_in_schema=False)
    row_cache = RowCache()
    table_chrome = TableChrome()

    async def identity_of(request: Request, ctx: ContextDep) -> Identity | None:
        try:
            return await ctx.authenticator.authenticate(request)
        except AuthenticationError:
            return None

    def page_text(request: Request, template: str, **values: Any) -> str:
        cookie = getattr(request.state, "session_cookie", None)
        page = _templates().get_template(template)
        return page.render(
            plurals=[(m.model_info.plural, m.model_info.kind) for m in models],
            csrf=sessions.csrf_token(cookie) if cookie else "",
            signed_in_by_cookie=cookie is not None,
            **values,
        )

    def render(request: Request, template: str, code: int = 200, **values: Any) -> HTMLResponse:
        page = page_text(request, template, **values)
        return HTMLResponse(page, code, headers={"Cache-Control": "no-store"})

    def missing(request: Request, user: Identity | None, what: str) -> HTMLResponse:
        return render(
            request, "message.html", 404, user=user, title="Not found", text=f"There is no {what}."
        )

    async def allowed(
        request: Request, ctx: AppContext, identity: Identity, attributes: ResourceAttributes
    ) -> HTMLResponse | None:
        """None when the REST layer's check passes; otherwise the page saying why not."""
        try:
            await check_access(ctx, identity, attributes)
        except Problem as refused:
            title = "Not allowed" if refused.status == 403 else "Try again shortly"
            return render(
                request,
                "message.html",
                refused.status,
                user=identity,
                title=title,
                text=refused.detail,
            )
        return None

    async def object_page(
        request: Request, plural: str, path: str, ctx: AppContext
    ) -> _Shown | Response:
        """What every page of one object starts with: the model and name from the path,
        the signed-in caller, the REST layer's ``get`` check and the detail view; or the
        page (not found, sign in, not allowed) to answer instead."""
        model = by_plural.get(plural)
        parts = path.split("/")
        if model is None or len(parts) != (2 if model.model_info.namespaced else 1):
            return missing(request, None, f"{plural}/{path}")
        identity = await identity_of(request, ctx)
        if identity is None:
            return to_sign_in(request)
        info = model.model_info
        namespace, name = (parts[0], parts[1]) if info.namespaced else (None, parts[0])
        attributes = ResourceAttributes("get", info.group, plural, namespace, name)
        if (refused := await allowed(request, ctx, identity, attributes)) is not None:
            return refused
        try:
            view = await get_detail(
                model,
                namespace,
                name,
                cluster=ctx.reader,
                records=ctx.store,
                history_limit=HISTORY_SHOWN,
            )
        except ResourceNotFound:
            return missing(request, identity, f"{info.kind} {path}")
        return _Shown(model, identity, namespace, name, view)

    def to_sign_in(request: Request) -> RedirectResponse:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"{UI_PREFIX}/sign-in?{urlencode({'next': target})}", 303)

    @router.get("", response_class=HTMLResponse)
    async def home() -> Response:
        first = next(iter(by_plural), None)
        return RedirectResponse(f"{UI_PREFIX}/{first}" if first else f"{UI_PREFIX}/sign-in", 303)

    def sign_in_page(request: Request, code: int, target: str, error: str | None) -> Response:
        # Login CSRF: the form's nonce must come back with the cookie set beside it, which
        # a page on another site can neither read nor (SameSite=Strict) send along.
        nonce = secrets.token_urlsafe(24)
        page = render(
            request,
            "sign_in.html",
            code,
            user=None,
            next=target,
            error=error,
            nonce=nonce,
            oidc=oidc.client.display_name if oidc else None,
        )
        sessions.set_sign_in_nonce(page, nonce)
        return page

    @router.get("/sign-in", response_class=HTMLResponse)
    async def sign_in_form(request: Request, next: str = UI_PREFIX) -> Response:
        return sign_in_page(request, 200, _local(next), None)

    @router.post("/sign-in", response_class=HTMLResponse)
    async def sign_in(request: Request, ctx: ContextDep) -> Response:
        form = await _form(request)
        credential, target = form.get("credential", "").strip(), _local(form.get("next"))
        if not sessions.sign_in_nonce_ok(request.cookies, form.get("nonce")):
            error = "The sign-in form expired or came from elsewhere; please sign in again."
            return sign_in_page(request, 403, target, error)
        scope = {
            **request.scope,
            "headers": [(b"authorization", b"Bearer " + credential.encode())],
        }
        try:
            identity = await ctx.authenticator.authenticate(Request(scope))
        except AuthenticationError:
            identity = None
        if not credential or identity is None:
            error = "That token or API key was not accepted."
            return sign_in_page(request, 401, target, error)
        response = RedirectResponse(target, 303)
        sessions.set_cookie(response, credential)
        sessions.clear_sign_in_nonce(response)
        return response

    if oidc is not None:  # before /{plural}/{path}, which would take /sign-in/oidc
        router.include_router(oidc_router(oidc, sessions, sign_in_page, local=_local))

    @router.post("/sign-out")
    async def sign_out(request: Request) -> Response:
        cookie = getattr(request.state, "session_cookie", None)
        form = await _form(request)
        if cookie is not None and not sessions.csrf_ok(cookie, form.get("csrf")):
            return Response("The sign-out form is stale; reload the page.", 403)
        response = RedirectResponse(f"{UI_PREFIX}/sign-in", 303)
        sessions.clear_cookie(response)
        return response

    @router.get("/{plural}", response_class=HTMLResponse)
    async def table(request: Request, plural: str, ctx: ContextDep) -> Response:
        model = by_plural.get(plural)
        if model is None:
            return missing(request, None, plural)
        identity = await identity_of(request, ctx)
        if identity is None:
            return to_sign_in(request)
        info = model.model_info
        params = request.query_params
        namespace = (params.get("namespace") or None) if info.namespaced else None
        only = None
        if namespace is not None or not info.namespaced:
            attributes = ResourceAttributes("list", info.group, plural, namespace)
            if (refused := await allowed(request, ctx, identity, attributes)) is not None:
                return refused
        else:
            only = await namespace_filter(ctx, identity, info.group, plural)
        filters = tuple(
            (field, value)
            for field, _, value in (f.partition("=") for f in params.getlist("filter"))
            if field
        )
        query = TableQuery(
            sort=params.get("sort") or "metadata.name",
            descending=params.get("order") == "desc",
            filters=filters,
            search=(params.get("q") or "")[:253],
            page=_int(params.get("page"), 1),
            size=PAGE_SIZE,
        )
        error = None
        try:
            page = await query_table(
                model,
                namespace,
                query,
                cluster=ctx.reader,
                records=ctx.store,
                namespace_filter=only,
            )
        except UnknownField as exc:
            error, page = str(exc), None
        columns = [(c.name, c.json_path.lstrip("."), c.type) for c in info.printer_columns]
        metric_names = sorted(
            {name for item in (page.items if page else []) for name in item.latest_metrics}
        )
        rows = row_cache.rows(
            plural, info.namespaced, columns, metric_names, page.items if page else []
        )

        def link(**changes: Any) -> str:
            merged = {
                "namespace": namespace or "",
                "q": query.search,
                "sort": query.sort,
                "order": "desc" if query.descending else "asc",
                "page": str(page.page if page else 1),
                **{k: str(v) for k, v in changes.items()},
            }
            pairs = [(k, v) for k, v in merged.items() if v] + [
                ("filter", f"{f}={v}") for f, v in filters
            ]
            return f"{UI_PREFIX}/{plural}?{urlencode(pairs)}"

        # Everything table.html and base.html show besides the rows (``TableChrome``).
        shown = (
            plural,
            namespace,
            query,
            (page.total, page.page, page.pages) if page else None,
            error,
            tuple(metric_names),
            identity.user,
            identity.method,
            getattr(request.state, "session_cookie", None),
        )
        text = table_chrome.page(
            shown,
            rows,
            lambda rows: page_text(
                request,
                "table.html",
                user=identity,
                info=info,
                plural=plural,
                namespace=namespace or "",
                query=query,
                filters=[f"{f}={v}" for f, v in filters],
                fields=table_fields(model),
                columns=columns,
                metric_names=metric_names,
                rows=rows,
                page=page,
                error=error,
                link=link,
            ),
        )
        return HTMLResponse(text, 400 if error else 200, headers={"Cache-Control": "no-store"})

    @router.get("/{plural}/_new", response_class=HTMLResponse)
    async def create_form(request: Request, plural: str, ctx: ContextDep) -> Response:
        model = by_plural.get(plural)
        if model is None:
            return missing(request, None, plural)
        identity = await identity_of(request, ctx)
        if identity is None:
            return to_sign_in(request)
        spec_type = model.model_fields["spec"].annotation
        return render(
            request,
            "form.html",
            user=identity,
            info=model.model_info,
            plural=plural,
            namespace=request.query_params.get("namespace", ""),
            name="",
            etag="",
            restoring=None,
            fields=spec_form(spec_type, None),  # type: ignore[arg-type]
        )

    @router.get("/{plural}/_edit/{path:path}", response_class=HTMLResponse)
    async def edit_form(request: Request, plural: str, path: str, ctx: ContextDep) -> Response:
        shown = await object_page(request, plural, path, ctx)
        if isinstance(shown, Response):
            return shown
        model, identity, namespace, name, view = shown
        info = model.model_info
        spec = view.obj.to_dict().get("spec") or {}
        # ?generation=N: the form filled with that generation's spec (restoring it).
        wanted = request.query_params.get("generation")
        restoring = next((h for h in view.history if str(h.generation) == wanted), None)
        if wanted is not None and restoring is None:
            return missing(request, identity, f"generation {wanted} of {name} in its history")
        spec_type = model.model_fields["spec"].annotation
        return render(
            request,
            "form.html",
            user=identity,
            info=info,
            plural=plural,
            namespace=namespace or "",
            name=name,
            etag=f'"{view.obj.metadata.resourceVersion}"',
            restoring=restoring.generation if restoring is not None else None,
            fields=spec_form(spec_type, restoring.spec if restoring is not None else spec),  # type: ignore[arg-type]
        )

    @router.get("/{plural}/_compare/{path:path}", response_class=HTMLResponse)
    async def compare(request: Request, plural: str, path: str, ctx: ContextDep) -> Response:
        """Any two generations of the history side by side, with the JSON patch between."""
        shown = await object_page(request, plural, path, ctx)
        if isinstance(shown, Response):
            return shown
        model, identity, _, name, view = shown
        info = model.model_info
        by_generation = {str(h.generation): h for h in view.history}
        old = by_generation.get(request.query_params.get("from", ""))
        new = by_generation.get(request.query_params.get("to", ""))
        if old is None or new is None:
            return missing(request, identity, f"such a pair of generations of {name}")
        return render(
            request,
            "compare.html",
            user=identity,
            info=info,
            plural=plural,
            name=name,
            detail=f"{UI_PREFIX}/{plural}/{path}",
            old=old,
            new=new,
            ops=list(jsonpatch.make_patch(old.spec, new.spec)),
        )

    @router.get("/{plural}/{path:path}", response_class=HTMLResponse)
    async def detail(request: Request, plural: str, path: str, ctx: ContextDep) -> Response:
        shown = await object_page(request, plural, path, ctx)
        if isinstance(shown, Response):
            return shown
        model, identity, namespace, name, view = shown
        info = model.model_info
        window = request.query_params.get("window") or DEFAULT_WINDOW
        window = window if window in WINDOWS else DEFAULT_WINDOW
        until = datetime.now(UTC)
        since = until - WINDOWS[window]
        slices = await ctx.store.metric_buckets(
            view.obj.metadata.uid, since=since, until=until, buckets=SLICES
        )
        owned, hidden_kinds = await visible_owned(ctx, identity, view.obj)
        heartbeat = timedelta(seconds=ctx.settings.metric_sample_interval_seconds)
        wire = view.obj.to_dict()
        status = dict(wire.get("status") or {})
        conditions = status.pop("conditions", None) or []
        item_path = "/".join(p for p in (namespace, name) if p)
        return render(
            request,
            "detail.html",
            user=identity,
            info=info,
            plural=plural,
            namespace=namespace,
            name=name,
            view=view,
            spec=wire.get("spec") or {},
            status=status,
            conditions=conditions,
            labels=wire.get("metadata", {}).get("labels") or {},
            api_path=f"/api/{plural}/{item_path}",
            watch_path=f"/api/watch/{plural}/{item_path}",
            owned=owned,
            hidden_kinds=hidden_kinds,
            model_plurals=set(by_plural),
            windows=list(WINDOWS),
            window=window,
            charts=charts(slices, since, until, heartbeat),
        )

    return router


def _int(value: str | None, default: int) -> int:
    try:
        return max(1, int(value or default))
    except ValueError:
        return default


def _local(target: str | None) -> str:
    """Only a dashboard path is a place to go after signing in (no open redirect)."""
    if target and target.startswith(f"{UI_PREFIX}") and not target.startswith("//"):
        return target
    return UI_PREFIX


async def _form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > _MAX_FORM_BYTES:
        return {}
    return dict(parse_qsl(body.decode("utf-8", "replace"), max_num_fields=20))
