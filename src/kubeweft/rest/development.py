"""Stand-ins for authentication and authorization while developing locally.

Until real credentials are configured the API runs as one fixed identity
(``settings.dev_user``) that every request is allowed to act as. Both classes say
so in their names and in the start-up log, and :func:`development_auth` refuses to
build them in production mode, so they cannot end up guarding a real deployment.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection

from kubeweft.auth.identity import Decision, Identity, ResourceAttributes
from kubeweft.logging import get_logger
from kubeweft.settings import Settings

__all__ = ["AllowAllAuthorizer", "DevelopmentAuthenticator", "development_auth"]

_log = get_logger("kubeweft.rest.auth")


class DevelopmentAuthenticator:
    """Every request is ``user`` with ``groups``. DEVELOPMENT ONLY."""

    def __init__(self, user: str, groups: tuple[str, ...]) -> None:
        self._identity = Identity(user=user, groups=groups, method="development")

    async def authenticate(self, connection: HTTPConnection) -> Identity:
        return self._identity


class AllowAllAuthorizer:
    """Allows every request. DEVELOPMENT ONLY."""

    async def authorize(self, identity: Identity, attributes: ResourceAttributes) -> Decision:
        return Decision(True, "development mode: every request is allowed")


def development_auth(settings: Settings) -> tuple[DevelopmentAuthenticator, AllowAllAuthorizer]:
    if settings.mode == "production":
        raise RuntimeError(
            "the development identity is refused in production mode; configure authentication"
        )
    user = settings.dev_user or "developer"
    _log.warning(
        "DEVELOPMENT AUTHENTICATION: every API request acts as a fixed identity and is allowed",
        user=user,
        groups=list(settings.dev_groups),
    )
    return DevelopmentAuthenticator(user, tuple(settings.dev_groups)), AllowAllAuthorizer()
