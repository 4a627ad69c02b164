"""API keys as a way in: ``Authorization: Bearer kw_<id>_<secret>`` or ``X-API-Key``.

Storage, hashing and the constant-time check live in ``repositories.apikeys`` (only the
id is kept in clear; the secret is 256 random bits, stored as its SHA-256). This module
turns a verified row into an :class:`Identity`, and keeps ``last_used_at`` useful without
turning every authenticated request into a database write: the time is written at most
once per ``touch_interval``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog

from kubeweft.auth.identity import AuthenticationError, Identity, ReviewUnavailable
from kubeweft.db.engine import Database
from kubeweft.db.types import utcnow
from kubeweft.repositories import apikeys

__all__ = ["ApiKeyAuthenticator", "looks_like_api_key"]

log = structlog.get_logger(__name__)

METHOD = "apikey"


def looks_like_api_key(token: str) -> bool:
    return apikeys.parse_token(token) is not None


class ApiKeyAuthenticator:
    """Looks the key up by its id and checks secret, revocation and expiry."""

    def __init__(self, database: Database, *, touch_interval: timedelta = timedelta(minutes=1)):
        self._database = database
        self._touch_interval = touch_interval

    async def verify(self, token: str) -> Identity:
        parsed = apikeys.parse_token(token)
        if parsed is None:
            raise AuthenticationError(
                "malformed API key", challenge='Bearer realm="kubeweft", error="invalid_token"'
            )
        key_id = parsed[0]
        try:
            identity = await self._lookup(token, key_id)
        except AuthenticationError:
            raise
        except Exception as exc:
            # A hung or failing database: who the caller is cannot be known (503, not 401).
            raise ReviewUnavailable(f"API key {key_id} cannot be checked: {exc!r}") from exc
        log.debug("api key accepted", key_id=key_id, user=identity.user)
        return identity

    async def _lookup(self, token: str, key_id: str) -> Identity:
        now = utcnow()
        with self._database.deadline():
            async with self._database.session() as session:
                row = await apikeys.verify_api_key(session, token, now=now, touch=False)
                if row is None:
                    raise AuthenticationError(
                        f"API key {key_id} unknown, wrong, revoked or expired",
                        challenge='Bearer realm="kubeweft", error="invalid_token"',
                    )
                identity = Identity(user=row.user, groups=tuple(row.groups), method=METHOD)
                if self._stale(row.last_used_at, now):
                    row.last_used_at = now
                    await session.commit()
        return identity

    def _stale(self, last_used_at: datetime | None, now: datetime) -> bool:
        return last_used_at is None or now - last_used_at >= self._touch_interval
