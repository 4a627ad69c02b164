"""The FastAPI application factory.

``create_app(settings, context)`` builds the app from what it is given — no globals,
no work at import time — so the process, the tests and the OpenAPI exporter each
build their own. Middleware order, outermost first: observability (request id,
access log, metrics — it must see every response), CORS, body size limit; errors
are turned into problem+json by the exception handlers inside.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from kubeweft.api import CustomResource
from kubeweft.rest.context import AppContext
from kubeweft.rest.middleware import BodySizeLimitMiddleware, ObservabilityMiddleware
from kubeweft.rest.problems import install_problem_handlers
from kubeweft.rest.router import model_router
from kubeweft.settings import Settings

__all__ = ["API_TITLE", "create_app", "openapi_document"]

API_TITLE = "kubeweft"


def create_app(settings: Settings, context: AppContext) -> FastAPI:
    app = _routes(context.models)
    app.state.context = context
    install_problem_handlers(app)
    # add_middleware wraps: the last added is the outermost.
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
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


def openapi_document(models: Sequence[type[CustomResource]]) -> dict[str, Any]:
    """The OpenAPI document the app serves for ``models`` (checked in as docs/openapi.json)."""
    return _routes(models).openapi()


def _routes(models: Sequence[type[CustomResource]]) -> FastAPI:
    app = FastAPI(
        title=API_TITLE,
        version="v1alpha1",
        description=(
            "Kubernetes models joined with their database rows. Errors are "
            "application/problem+json (RFC 9457)."
        ),
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    for model in models:
        app.include_router(model_router(model))
    return app
