"""ASGI middleware: request id, access log and HTTP metrics; body size limit and timeout.

Both are plain ASGI (not ``BaseHTTPMiddleware``) so a streamed body is never buffered
twice and a cancelled request is not turned into a spurious error. The observability
middleware is the outermost layer: it sees every response, including the problem
bodies the error handlers produce, and labels metrics by the *route template*
(``/api/webapps/{namespace}/{name}``), never by the raw path. Every label value comes
from a closed set: the parser passes WebDAV's and other methods through, so a method
outside RFC 9110's (plus PATCH) is counted as ``other``, and a path no route matched as
``unmatched`` — otherwise each invented method would add a new series, and memory, per
request.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import anyio
import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kubeweft.logging import get_logger
from kubeweft.rest.metrics import HTTP_IN_FLIGHT, HTTP_REQUEST_DURATION, HTTP_REQUESTS
from kubeweft.rest.problems import problem_body

__all__ = [
    "REQUEST_ID_HEADER",
    "BodySizeLimitMiddleware",
    "ObservabilityMiddleware",
    "RequestBodyTimeoutMiddleware",
]

REQUEST_ID_HEADER = "x-request-id"
# How much of a refused body is read and dropped so the 413 reaches the client.
DRAIN_LIMIT = 64 * 1024 * 1024
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# The only method label values; anything else is "other".
STANDARD_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"}
)
UNMATCHED_ROUTE = "unmatched"

_access_log = get_logger("kubeweft.access")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


class ObservabilityMiddleware:
    """Accept or generate ``X-Request-ID``, echo it, log one line, observe the metrics."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = _header(scope, REQUEST_ID_HEADER.encode())
        request_id = offered if offered and _VALID_REQUEST_ID.match(offered) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        HTTP_IN_FLIGHT.inc()
        try:
            with structlog.contextvars.bound_contextvars(request_id=request_id):
                await self.app(scope, receive, send_with_id)
        finally:
            HTTP_IN_FLIGHT.dec()
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            method = scope["method"]
            method_label = method if method in STANDARD_METHODS else "other"
            HTTP_REQUESTS.labels(method_label, route, str(status)).inc()
            HTTP_REQUEST_DURATION.labels(method_label, route, str(status)).observe(elapsed)
            user = scope["state"].get("user")
            _access_log.info(
                "request",
                request_id=request_id,
                method=method[:32],
                path=scope["path"],
                route=route,
                status=status,
                duration_ms=round(elapsed * 1000, 2),
                user=user,
                client=(scope.get("client") or ("", 0))[0],
            )


def _route_template(scope: Scope) -> str:
    route: Any = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    return str(path) if path else UNMATCHED_ROUTE


class BodySizeLimitMiddleware:
    """Refuse bodies over ``max_bytes`` with 413: by Content-Length, and while streaming."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            drain = declared.isdigit() and int(declared) <= DRAIN_LIMIT
            await self._refuse(scope, send, close=not drain)
            if drain:
                await self._discard_body(receive)
            return
        received = 0
        refused = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Answer now: the app may swallow an exception raised from receive()
                    # (FastAPI turns body-read errors into 400). To the app the client
                    # has gone away, and whatever it sends later is dropped.
                    refused = True
                    await self._refuse(scope, send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:
                await send(message)

        await self.app(scope, limited_receive, guarded_send)

    async def _discard_body(self, receive: Receive) -> None:
        """Read (and drop) what the client is still sending, up to ``DRAIN_LIMIT`` bytes.

        Closing a socket with unread data makes the kernel send RST, and a client still
        uploading would see "connection reset" instead of the 413 already sent. Past
        the limit the connection is closed anyway: a refused upload must not cost more.
        """
        drained = 0
        while drained <= DRAIN_LIMIT:
            message = await receive()
            if message["type"] != "http.request":
                return
            drained += len(message.get("body", b""))
            if not message.get("more_body", False):
                return

    async def _refuse(self, scope: Scope, send: Send, *, close: bool = True) -> None:
        await _send_problem(
            scope,
            send,
            status=413,
            slug="payload-too-large",
            title="Content Too Large",
            detail=f"The request body exceeds {self.max_bytes} bytes.",
            close=close,
        )


class RequestBodyTimeoutMiddleware:
    """Answer 408 and close when the body is not all in ``timeout`` seconds after the head.

    The deadline runs from the request's arrival, as Go's ``http.Server.ReadTimeout``
    does, not from each chunk: a client trickling one byte a second would otherwise hold
    the connection (and a worker awaiting its body) for as long as the body size limit
    allows. Once the body is complete, ``receive`` is passed through untouched (apps wait
    on it for ``http.disconnect``).
    """

    def __init__(self, app: ASGIApp, *, timeout: float) -> None:
        self.app = app
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline = anyio.current_time() + self.timeout
        body_complete = timed_out = response_started = False

        async def timed_receive() -> Message:
            nonlocal body_complete, timed_out
            if timed_out:
                return {"type": "http.disconnect"}
            if body_complete:
                return await receive()
            with anyio.CancelScope(deadline=deadline):
                message = await receive()
                body_complete = not message.get("more_body", False)
                return message
            timed_out = True
            if not response_started:
                await _send_problem(
                    scope,
                    send,
                    status=408,
                    slug="request-timeout",
                    title="Request Timeout",
                    detail=f"The request body did not arrive within {self.timeout:g} seconds.",
                )
            return {"type": "http.disconnect"}

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if not timed_out:
                response_started = True
                await send(message)

        await self.app(scope, timed_receive, guarded_send)


async def _send_problem(
    scope: Scope, send: Send, *, status: int, slug: str, title: str, detail: str, close: bool = True
) -> None:
    """Answer from the middleware itself, with the connection closed unless told otherwise."""
    body = problem_body(
        status=status,
        slug=slug,
        title=title,
        detail=detail,
        instance=scope["path"],
        request_id=scope.get("state", {}).get("request_id"),
    )
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                *([(b"connection", b"close")] if close else []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
