"""The FastAPI application factory.

``create_app(settings, context)`` builds the app from what it is given — no globals,
no work at import time — so the process, the tests and the OpenAPI exporter each
build their own. Middleware order, outermost first: observability (request id,
access log, metrics — it must see every response), CORS, body timeout, body size
limit; errors are turned into problem+json by the exception handlers inside.

``/docs`` is Swagger UI served entirely from this process: its script, stylesheet and
icon are package data (``static/swagger-ui``, a pinned release), so the page works in
a cluster with no route to a public CDN.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from kubeweft.api import CustomResource
from kubeweft.rest.context import AppContext
from kubeweft.rest.dependencies import DEFAULT_LIST_LIMITS, ListLimits
from kubeweft.rest.middleware import (
    BodySizeLimitMiddleware,
    ObservabilityMiddleware,
    RequestBodyTimeoutMiddleware,
)
from kubeweft.rest.problems import install_problem_handlers
from kubeweft.rest.router import model_router, watch_router
from kubeweft.settings import Settings
from kubeweft.views.detail_fields import DetailFields
from kubeweft.views.watches import Watches

__all__ = ["API_TITLE", "create_app", "openapi_document"]

API_TITLE = "kubeweft"
OPENAPI_URL = "/openapi.json"
DOCS_URL = "/docs"
DOCS_ASSETS_URL = "/docs/assets"
DOCS_ASSETS = Path(__file__).parent / "static" / "swagger-ui"


def create_app(settings: Settings, context: AppContext) -> FastAPI:
    fields = context.fields.declared if context.fields is not None else ()
    app = _routes(context.models, ListLimits.of(settings), fields, context.watches)
    app.state.context = context
    install_problem_handlers(app)
    _serve_docs(app)
    # add_middleware wraps: the last added is the outermost.
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestBodyTimeoutMiddleware, timeout=settings.http_body_timeout_seconds)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "If-Match", "X-Request-ID"],
            expose_headers=["ETag", "Location", "X-Request-ID"],
        )
    app.add_middleware(ObservabilityMiddleware)
    return app


def openapi_document(
    models: Sequence[type[CustomResource]], fields: Sequence[DetailFields] = ()
) -> dict[str, Any]:
    """The OpenAPI document the app serves for ``models`` (checked in as docs/openapi.json)."""
    return _routes(models, fields=fields).openapi()


def _routes(
    models: Sequence[type[CustomResource]],
    limits: ListLimits = DEFAULT_LIST_LIMITS,
    fields: Sequence[DetailFields] = (),
    watches: Watches | None = None,
) -> FastAPI:
    app = FastAPI(
        title=API_TITLE,
        version="v1alpha1",
        description=(
            "Kubernetes models joined with their database rows. Errors are "
            "application/problem+json (RFC 9457)."
        ),
        docs_url=None,  # served by _serve_docs, from package data
        redoc_url=None,
        openapi_url=OPENAPI_URL,
    )
    for model in models:
        own = [declared for declared in fields if declared.model is model]
        app.include_router(model_router(model, limits, own))
    for model in models:
        app.include_router(watch_router(model, watches))
    return app


def _serve_docs(app: FastAPI) -> None:
    app.mount(DOCS_ASSETS_URL, StaticFiles(directory=DOCS_ASSETS), name="docs-assets")

    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=OPENAPI_URL,
            title=f"{API_TITLE} - Swagger UI",
            swagger_js_url=f"{DOCS_ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS_URL}/favicon-32x32.png",
            # Swagger UI would otherwise send the document to validator.swagger.io.
            swagger_ui_parameters={"validatorUrl": None},
        )

    app.add_api_route(DOCS_URL, swagger_ui, methods=["GET"], include_in_schema=False)
