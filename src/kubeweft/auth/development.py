"""A fixed identity for local development, so the API can be tried before keys exist.

It applies only to requests that carry no credentials at all (a request with a bad
token is still refused), and it is refused outright in production mode: a server that
lets anonymous callers act as ``system:masters`` must never be deployed by accident.
"""

from __future__ import annotations

from collections.abc import Sequence

from kubeweft.auth.identity import Identity

__all__ = ["DevelopmentAuthenticator", "DevelopmentModeError"]

METHOD = "development"


class DevelopmentModeError(ValueError):
    """A development identity was configured for a production server."""


class DevelopmentAuthenticator:
    """Answers every credential-less request with the configured user and groups."""

    def __init__(self, user: str, groups: Sequence[str], *, mode: str) -> None:
        if mode == "production":
            raise DevelopmentModeError(
                "dev_user is set but mode is 'production': a fixed development identity"
                " is refused in production"
            )
        self.identity = Identity(user=user, groups=tuple(groups), method=METHOD)

    async def verify(self) -> Identity:
        return self.identity
