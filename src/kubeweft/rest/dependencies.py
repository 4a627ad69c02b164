"""FastAPI dependencies as ``Annotated`` aliases: the context, the caller, permissions.

A handler declares what it needs (``ctx: ContextDep``, ``user: CurrentUser``) and the
dependency does the work — authenticate (401), authorize (403), validate path names
(422) — before the handler runs.

Every parameter a caller sends is bounded in size here or in its route (a longer value
is a 422 naming it), and parsed in time linear in its length; docs/design/rest.md lists
each parser with its bound.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Path, Request

from kubeweft.auth.identity import (
    AuthenticationError,
    Identity,
    ResourceAttributes,
    ReviewUnavailable,
)
from kubeweft.logging import get_logger
from kubeweft.rest.context import AppContext
from kubeweft.rest.problems import Problem
from kubeweft.settings import DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT, Settings

__all__ = [
    "DEFAULT_LIST_LIMITS",
    "DNS1123_LABEL",
    "DNS1123_SUBDOMAIN",
    "ContextDep",
    "CurrentUser",
    "ListLimits",
    "NameParam",
    "NamespaceParam",
    "check_access",
    "require",
]

DNS1123_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS1123_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"

_log = get_logger("kubeweft.rest.auth")


@dataclass(frozen=True)
class ListLimits:
    """A list's page size: ``default`` when the caller gives no ``limit``, at most ``maximum``.

    Fixed when the routes are built, so the OpenAPI document states both.
    """

    default: int = DEFAULT_LIST_LIMIT
    maximum: int = MAX_LIST_LIMIT

    @classmethod
    def of(cls, settings: Settings) -> ListLimits:
        return cls(settings.list_default_limit, settings.list_max_limit)


DEFAULT_LIST_LIMITS = ListLimits()


# Dependencies are ``async def`` even when they do not await: FastAPI runs a plain
# ``def`` dependency in a worker thread, one thread hand-off per request each.
async def get_context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


ContextDep = Annotated[AppContext, Depends(get_context)]


async def current_identity(request: Request, ctx: ContextDep) -> Identity:
    try:
        identity = await ctx.authenticator.authenticate(request)
    except AuthenticationError as exc:
        _log.info("authentication failed", reason=str(exc), path=request.url.path)
        raise Problem(
            401,
            "Authentication is required: present a valid bearer token or API key.",
            headers={"WWW-Authenticate": exc.challenge},
        ) from None
    except ReviewUnavailable as exc:
        if exc.retry_after is None:  # a spent review budget logs itself, rate-limited
            _log.warning("authentication unavailable", reason=str(exc), path=request.url.path)
        retry_after = str(math.ceil(exc.retry_after or 1))
        raise Problem(
            503,
            "Credentials cannot be checked right now; retry shortly.",
            headers={"Retry-After": retry_after},
        ) from None
    request.state.user = identity.user
    return identity


CurrentUser = Annotated[Identity, Depends(current_identity)]

NamespaceParam = Annotated[
    str,
    Path(
        min_length=1,
        max_length=63,
        pattern=DNS1123_LABEL,
        description="A Kubernetes namespace name (RFC 1123 label).",
    ),
]
NameParam = Annotated[
    str,
    Path(
        min_length=1,
        max_length=253,
        pattern=DNS1123_SUBDOMAIN,
        description="A Kubernetes object name (RFC 1123 subdomain).",
    ),
]


def require(
    verb: str, group: str, resource: str, *, subresource: str | None = None
) -> Callable[..., Awaitable[Identity]]:
    """A dependency that authorizes ``verb`` on the path's namespace/name, or raises 403."""

    async def authorized(request: Request, ctx: ContextDep, identity: CurrentUser) -> Identity:
        params: dict[str, Any] = request.path_params
        attributes = ResourceAttributes(
            verb=verb,
            group=group,
            resource=resource,
            namespace=params.get("namespace"),
            name=params.get("name"),
            subresource=subresource,
        )
        await check_access(ctx, identity, attributes)
        return identity

    return authorized


async def check_access(ctx: AppContext, identity: Identity, attributes: ResourceAttributes) -> None:
    """Ask the authorizer; 403 naming the verb and resource when it says no."""
    try:
        decision = await ctx.authorizer.authorize(identity, attributes)
    except ReviewUnavailable as exc:
        _log.warning("authorization unavailable", reason=str(exc))
        raise Problem(503, "Access cannot be checked right now; retry shortly.") from None
    if not decision.allowed:
        a = attributes
        target = f"{a.resource}/{a.subresource}" if a.subresource else a.resource
        if a.group:
            target = f"{target}.{a.group}"
        where = f" in namespace {a.namespace}" if a.namespace else " across all namespaces"
        raise Problem(403, f"{identity.user} may not {a.verb} {target}{where}.", slug="forbidden")
