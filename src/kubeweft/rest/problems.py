"""Errors as ``application/problem+json`` (RFC 9457), and the one place they are mapped.

Every failure a client can see — a validation error, a Kubernetes refusal, a database
outage, an unknown route — leaves through :func:`install_problem_handlers`, so the body
always has the same shape (``type``, ``title``, ``status``, ``detail``, ``instance``,
and ``errors: [{field, message}]`` for 422) and no stack trace ever reaches a client:
unexpected exceptions are logged with the request id and answered with a bare 500.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

from kubeweft.logging import get_logger
from kubeweft.runtime import errors as kube_errors
from kubeweft.runtime.labels import InvalidSelector
from kubeweft.views.errors import (
    DatabaseTimeout,
    DatabaseUnavailable,
    InvalidContinueToken,
    ResourceNotFound,
)

__all__ = [
    "PROBLEM_JSON",
    "FieldError",
    "Problem",
    "ProblemBody",
    "allowed_methods",
    "field_errors_from_pydantic",
    "install_problem_handlers",
    "problem_body",
    "problem_from_kube_error",
    "problem_response",
]

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://kubeweft.dev/problems/"

_log = get_logger("kubeweft.rest")

# RFC 9110's methods plus PATCH, in the order an Allow header lists them.
_METHODS = ("CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE")


class FieldErrorBody(BaseModel):
    field: str
    message: str


class ProblemBody(BaseModel):
    """The wire shape of every error (documented in the OpenAPI spec).

    RFC 9457's members keep their names; the extension member is camelCase like the rest
    of the API (``requestId``).
    """

    model_config = ConfigDict(alias_generator=to_camel, serialize_by_alias=True)

    type: str = Field(description="A URI naming the kind of problem.")
    title: str
    status: int
    detail: str = ""
    instance: str = Field(default="", description="The request path.")
    request_id: str | None = None
    errors: list[FieldErrorBody] | None = None


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


@dataclass
class Problem(Exception):
    """Raise from anywhere in a request to answer with this problem."""

    status: int
    detail: str = ""
    slug: str = ""
    title: str = ""
    errors: list[FieldError] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        phrase = HTTPStatus(self.status).phrase
        self.title = self.title or phrase
        self.slug = self.slug or phrase.lower().replace(" ", "-").replace("'", "")

    def __str__(self) -> str:
        return f"{self.status} {self.title}: {self.detail}"


def problem_body(
    *,
    status: int,
    slug: str,
    title: str,
    detail: str,
    instance: str,
    request_id: str | None = None,
    errors: list[FieldError] | None = None,
) -> bytes:
    """The serialised problem document (also used by middleware outside FastAPI)."""
    body: dict[str, Any] = {
        "type": TYPE_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    if request_id:
        body["requestId"] = request_id
    if errors is not None:
        body["errors"] = [{"field": e.field, "message": e.message} for e in errors]
    return json.dumps(body, separators=(",", ":")).encode()


def problem_response(request: Request, problem: Problem) -> Response:
    content = problem_body(
        status=problem.status,
        slug=problem.slug,
        title=problem.title,
        detail=problem.detail,
        instance=request.url.path,
        request_id=getattr(request.state, "request_id", None),
        errors=problem.errors if (problem.errors or problem.status == 422) else None,
    )
    return Response(
        content, status_code=problem.status, headers=problem.headers, media_type=PROBLEM_JSON
    )


def _location(loc: Sequence[int | str], *, drop: int) -> str:
    parts = [str(p) for p in loc[drop:]]
    out = ""
    for part in parts:
        if part.isdigit():
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out or "body"


def field_errors_from_pydantic(
    errors: Iterable[Mapping[str, Any]], *, prefix: str = "", drop: int = 0
) -> list[FieldError]:
    """``{field, message}`` pairs from pydantic's error list (``loc`` → dotted path)."""
    result = []
    for error in errors:
        loc = _location(tuple(error.get("loc", ())), drop=drop)
        name = f"{prefix}.{loc}" if prefix and loc != "body" else (prefix or loc)
        message = str(error.get("msg", "invalid"))
        if error.get("type") == "json_invalid":
            ctx = error.get("ctx") or {}
            message = f"malformed JSON: {ctx.get('error', message)}"
        result.append(FieldError(name, message))
    return result


def _request_validation_problem(exc: RequestValidationError) -> Problem:
    errors = []
    for error in exc.errors():
        loc = tuple(error.get("loc", ()))
        # FastAPI prefixes where the value came from: body, path, query, header.
        where = str(loc[0]) if loc else "body"
        name = _location(loc, drop=1) if len(loc) > 1 else where
        if where in ("path", "query", "header"):
            name = f"{where}.{name}"
        message = str(error.get("msg", "invalid"))
        if error.get("type") == "json_invalid":
            name = "body"
            ctx = error.get("ctx") or {}
            message = f"malformed JSON: {ctx.get('error', message)}"
        errors.append(FieldError(name, message))
    fields = ", ".join(sorted({e.field for e in errors}))
    if any(e.get("type") == "json_invalid" for e in exc.errors()):
        malformed = [e for e in errors if e.message.startswith("malformed JSON")]
        return Problem(
            400, "The request body is not valid JSON.", slug="malformed-json", errors=malformed
        )
    return Problem(
        422, f"The request is invalid: {fields}.", slug="validation-error", errors=errors
    )


def problem_from_kube_error(error: kube_errors.ApiError, *, what: str) -> Problem:
    """A Kubernetes refusal as the problem a REST client should see.

    ``what`` names the object (``webapps default/shop``) for the detail message.
    """
    if isinstance(error, kube_errors.NotFound):
        return Problem(404, f"{what} not found.")
    if isinstance(error, kube_errors.AlreadyExists):
        return Problem(409, f"{what} already exists.", slug="already-exists")
    if isinstance(error, kube_errors.Conflict):
        return Problem(409, f"{what} was changed concurrently; read it again and retry.")
    if isinstance(error, kube_errors.Invalid):
        errors = [
            FieldError(_kube_field(c.field), c.message or c.reason or "invalid")
            for c in error.causes
        ] or [FieldError("body", error.message or "rejected by the API server")]
        return Problem(
            422, f"The API server rejected {what}.", slug="validation-error", errors=errors
        )
    if isinstance(error, kube_errors.Forbidden):
        return Problem(403, f"The Kubernetes API server refused access to {what}.")
    if isinstance(error, kube_errors.BadRequest):
        return Problem(400, error.message or "The API server rejected the request.")
    if isinstance(error, kube_errors.TooManyRequests):
        headers = {"Retry-After": str(int(error.retry_after or 1))}
        return Problem(
            503, "The Kubernetes API server is throttling; retry later.", headers=headers
        )
    return Problem(
        502, "The Kubernetes API server did not answer as expected.", slug="kubernetes-unavailable"
    )


def _kube_field(path: str | None) -> str:
    if not path:
        return "body"
    # The API server names fields from the object root; the REST body uses the same
    # spec/labels names, minus "metadata." for labels and name.
    for prefix in ("metadata.",):
        if path.startswith(prefix):
            return path[len(prefix) :]
    return path


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves on the request's path, sorted (the ``Allow`` header).

    Starlette answers 405 from the first route whose path matched and so names only that
    route's methods; a path served by several routes (GET, PATCH and DELETE of one
    object) must list them all. Each method is asked of the router as a request would.
    """
    routes = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    ]


def install_problem_handlers(app: FastAPI) -> None:
    """Route every exception a request can raise through a problem+json response."""

    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Problem)
        return problem_response(request, exc)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else ""
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"No route for {request.method} {request.url.path}."
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}."
            headers["Allow"] = ", ".join(allowed_methods(request))
        return problem_response(request, Problem(exc.status_code, detail, headers=headers))

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return problem_response(request, _request_validation_problem(exc))

    async def on_pydantic(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ValidationError)
        problem = Problem(
            422,
            "The request is invalid.",
            slug="validation-error",
            errors=field_errors_from_pydantic(exc.errors()),
        )
        return problem_response(request, problem)

    async def on_kube(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, kube_errors.ApiError)
        _log.warning("kubernetes request failed", error=str(exc), path=request.url.path)
        return problem_response(request, problem_from_kube_error(exc, what="the resource"))

    async def on_database(request: Request, exc: Exception) -> Response:
        _log.error("database unavailable", error=str(exc.__cause__ or exc), path=request.url.path)
        if isinstance(exc, DatabaseTimeout):
            problem = Problem(
                503,
                "The database did not answer in time; retry later.",
                slug="database-timeout",
                headers={"Retry-After": str(exc.retry_after)},
            )
        else:
            problem = Problem(
                500, "The database could not be queried.", slug="database-unavailable"
            )
        return problem_response(request, problem)

    async def on_continue(request: Request, exc: Exception) -> Response:
        return problem_response(
            request,
            Problem(
                400,
                str(exc),
                slug="invalid-continue-token",
                errors=[FieldError("query.continue", str(exc))],
            ),
        )

    async def on_selector(request: Request, exc: Exception) -> Response:
        return problem_response(
            request,
            Problem(
                400,
                f"Invalid label selector: {exc}",
                slug="invalid-label-selector",
                errors=[FieldError("query.labelSelector", str(exc))],
            ),
        )

    async def on_not_found(request: Request, exc: Exception) -> Response:
        return problem_response(request, Problem(404, f"{str(exc).capitalize()}."))

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        _log.exception("unhandled error", path=request.url.path)
        return problem_response(request, Problem(500, "An unexpected error occurred."))

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(ValidationError, on_pydantic)
    app.add_exception_handler(kube_errors.ApiError, on_kube)
    app.add_exception_handler(DatabaseUnavailable, on_database)
    app.add_exception_handler(InvalidContinueToken, on_continue)
    app.add_exception_handler(InvalidSelector, on_selector)
    app.add_exception_handler(ResourceNotFound, on_not_found)
    app.add_exception_handler(Exception, on_unexpected)
