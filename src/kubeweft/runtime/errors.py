"""Typed errors mapped from the API server's ``Status``.

A reconciler decides what to do by the *kind* of failure — a missing object is not a
failure at all, a conflict means "requeue and read again", an invalid object will never
succeed — so the client turns each ``metav1.Status`` into one exception class
(apimachinery's ``errors.IsNotFound`` and friends become ``except NotFound``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "AlreadyExists",
    "ApiError",
    "BadRequest",
    "Cause",
    "Conflict",
    "ConnectionFailed",
    "Forbidden",
    "Gone",
    "Invalid",
    "NotFound",
    "ServerError",
    "Timeout",
    "TooManyRequests",
    "Unauthorized",
    "error_from_status",
]


@dataclass(frozen=True)
class Cause:
    """One ``StatusCause``: which field was wrong and why."""

    field: str | None
    reason: str | None
    message: str | None


@dataclass
class ApiError(Exception):
    """A request the API server (or the network) refused; ``code`` is the HTTP status."""

    code: int
    reason: str = ""
    message: str = ""
    causes: list[Cause] = field(default_factory=list)
    retry_after: float | None = None

    def __str__(self) -> str:
        return f"{self.code} {self.reason}: {self.message}"


class BadRequest(ApiError):
    """400: malformed request (also a watch whose resourceVersion cannot be served)."""


class Unauthorized(ApiError):
    """401: no or invalid credentials."""


class Forbidden(ApiError):
    """403: RBAC denies the request."""


class NotFound(ApiError):
    """404: the object (or the kind) does not exist."""


class AlreadyExists(ApiError):
    """409 AlreadyExists: create of a name that is taken."""


class Conflict(ApiError):
    """409 Conflict: a stale ``resourceVersion`` (optimistic concurrency) or an SSA conflict."""


class Gone(ApiError):
    """410: the requested resourceVersion was compacted; an informer must relist."""


class Invalid(ApiError):
    """422: the object fails validation; ``causes`` name the fields."""


class TooManyRequests(ApiError):
    """429: throttled (API priority and fairness); honour ``retry_after``."""


class ServerError(ApiError):
    """5xx: the API server failed; usually transient."""


class Timeout(ServerError):
    """504 or reason ``Timeout``: the server gave up; the write may or may not have happened."""


class ConnectionFailed(ApiError):
    """No HTTP answer at all (connection refused/reset, client-side timeout); ``code`` is 0."""


def _class_for(code: int, reason: str) -> type[ApiError]:
    if code == 409:
        return AlreadyExists if reason == "AlreadyExists" else Conflict
    if reason == "Timeout" or code == 504:
        return Timeout
    by_code: dict[int, type[ApiError]] = {
        400: BadRequest,
        401: Unauthorized,
        403: Forbidden,
        404: NotFound,
        410: Gone,
        422: Invalid,
        429: TooManyRequests,
    }
    if code in by_code:
        return by_code[code]
    if code == 0:
        return ConnectionFailed
    return ServerError if code >= 500 else ApiError


def error_from_status(
    code: int, status: dict[str, Any] | None, *, retry_after_header: str | None = None
) -> ApiError:
    """The typed error for an HTTP status code and (optional) ``metav1.Status`` body."""
    status = status or {}
    reason = str(status.get("reason") or "")
    message = str(status.get("message") or "")
    details = status.get("details") or {}
    causes = [
        Cause(c.get("field"), c.get("reason"), c.get("message"))
        for c in details.get("causes") or ()
        if isinstance(c, dict)
    ]
    retry_after: float | None = None
    if retry_after_header:
        try:
            retry_after = float(retry_after_header)
        except ValueError:
            retry_after = None  # an HTTP date; the backoff policy decides instead
    if retry_after is None and details.get("retryAfterSeconds"):
        retry_after = float(details["retryAfterSeconds"])
    # A watch reports "too old resourceVersion" as an ERROR event whose code is 410.
    code = int(status.get("code") or code)
    return _class_for(code, reason)(code, reason, message, causes, retry_after)


def error_from_body(code: int, body: bytes, *, retry_after_header: str | None = None) -> ApiError:
    """Like :func:`error_from_status`, from a raw response body that may not be JSON."""
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict) or parsed.get("kind") != "Status":
        text = body.decode("utf-8", "replace")[:500] if body else ""
        parsed = {"message": text}
    return error_from_status(code, parsed, retry_after_header=retry_after_header)
