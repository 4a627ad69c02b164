"""The authenticated caller, and the two protocols the REST layer depends on.

Authentication answers *who* (an :class:`Identity`); authorization answers *may they*
(a :class:`Decision`), asked of Kubernetes RBAC. The REST layer only sees these
protocols, so a development identity can stand in until real credentials are set up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from starlette.requests import HTTPConnection

__all__ = [
    "AuthenticationError",
    "Authenticator",
    "Authorizer",
    "Decision",
    "Identity",
    "ResourceAttributes",
    "ReviewUnavailable",
]


@dataclass(frozen=True)
class Identity:
    user: str
    groups: tuple[str, ...] = ()
    # How the caller proved it: "apikey", "jwt", "oidc", "kubernetes", "development".
    method: str = "development"
    extra: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class ResourceAttributes:
    """What is being accessed, in SubjectAccessReview's terms."""

    verb: str
    group: str
    resource: str
    namespace: str | None = None
    name: str | None = None
    subresource: str | None = None


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""


class AuthenticationError(Exception):
    """Credentials missing or invalid. The message is logged, never sent to the client.

    ``challenge`` is the value for the 401's ``WWW-Authenticate`` header (RFC 6750): a
    bare ``Bearer`` challenge when no credentials came, ``error="invalid_token"`` when
    the ones that came were refused.
    """

    def __init__(self, message: str, *, challenge: str = 'Bearer realm="kubeweft"') -> None:
        super().__init__(message)
        self.challenge = challenge


class ReviewUnavailable(Exception):
    """Kubernetes could not be asked (a TokenReview or SubjectAccessReview failed).

    Neither "who" nor "may they" is known, so the REST layer answers 503, not 401/403,
    with ``Retry-After`` when ``retry_after`` (seconds) is known.
    """

    retry_after: float | None = None


class Authenticator(Protocol):
    async def authenticate(self, connection: HTTPConnection) -> Identity: ...


class Authorizer(Protocol):
    async def authorize(self, identity: Identity, attributes: ResourceAttributes) -> Decision: ...
