"""API keys: the id in clear (it is the token's visible prefix), the secret only hashed.

A token reads ``kw_<id>_<secret>``: the id finds the row in one indexed lookup, the
secret is 256 random bits, so a single SHA-256 is as strong as a slow password hash
would be (slow hashes exist to protect low-entropy passwords) and costs microseconds
per request. The comparison is constant-time. The plaintext token is returned once,
at creation, and never stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from kubeweft.db.tables import ACTOR_LENGTH, ApiKey
from kubeweft.db.types import utcnow
from kubeweft.repositories import _validate
from kubeweft.repositories.errors import NotFoundError, ValidationError

TOKEN_PREFIX = "kw"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_token(token: str) -> tuple[str, str] | None:
    """``(key id, secret)`` of a well-formed token, else None."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


async def create_api_key(
    session: AsyncSession,
    *,
    user: str,
    groups: Sequence[str] = (),
    expires_at: datetime | None = None,
    description: str | None = None,
) -> tuple[ApiKey, str]:
    """Store a new key; returns the row and the plaintext token (shown once)."""
    user = _validate.text(user, "user", max_length=ACTOR_LENGTH)
    for group in groups:
        _validate.text(group, "groups", max_length=ACTOR_LENGTH)
    if expires_at is not None:
        _validate.aware(expires_at, "expires_at")
        if expires_at <= utcnow():
            raise ValidationError("expires_at", "is in the past")
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    row = ApiKey(
        id=key_id,
        secret_hash=hash_secret(secret),
        user=user,
        groups=list(groups),
        description=description,
        created_at=utcnow(),
        expires_at=expires_at,
    )
    session.add(row)
    await session.flush()
    return row, f"{TOKEN_PREFIX}_{key_id}_{secret}"


async def verify_api_key(
    session: AsyncSession, token: str, *, now: datetime | None = None, touch: bool = True
) -> ApiKey | None:
    """The key a token names, if the secret matches and it is neither revoked nor expired.

    With ``touch`` the key's ``last_used_at`` is set (the caller commits).
    """
    parsed = parse_token(token)
    if parsed is None:
        return None
    key_id, secret = parsed
    row = await session.get(ApiKey, key_id)
    if row is None or not hmac.compare_digest(row.secret_hash, hash_secret(secret)):
        return None
    now = now or utcnow()
    if row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        return None
    if touch:
        row.last_used_at = now
        await session.flush()
    return row


async def get_api_key(session: AsyncSession, key_id: str) -> ApiKey:
    row = await session.get(ApiKey, key_id)
    if row is None:
        raise NotFoundError("api key", key_id)
    return row


async def list_api_keys(session: AsyncSession, *, user: str | None = None) -> list[ApiKey]:
    """All keys (or one user's), newest first, revoked ones included."""
    stmt = select(ApiKey)
    if user is not None:
        stmt = stmt.where(ApiKey.user == user)
    return list((await session.scalars(stmt.order_by(ApiKey.created_at.desc()))).all())


async def revoke_api_key(session: AsyncSession, key_id: str) -> ApiKey:
    """Mark a key revoked (kept for the audit trail); revoking twice keeps the first time."""
    row = await get_api_key(session, key_id)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        await session.flush()
    return row


async def delete_api_key(session: AsyncSession, key_id: str) -> None:
    result = await session.execute(delete(ApiKey).where(ApiKey.id == key_id))
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise NotFoundError("api key", key_id)


async def prune_api_keys(
    session: AsyncSession, older_than: datetime, *, limit: int | None = None
) -> int:
    """Delete keys revoked or expired before ``older_than`` (at most ``limit``); returns
    how many. A key in force is never pruned, whatever its age."""
    cutoff = _validate.aware(older_than, "older_than")
    stale: ColumnElement[bool] = or_(ApiKey.revoked_at < cutoff, ApiKey.expires_at < cutoff)
    if limit is not None:
        oldest = select(ApiKey.id).where(stale).order_by(ApiKey.id)
        stale = ApiKey.id.in_(oldest.limit(_validate.positive(limit, "limit")))
    result = await session.execute(delete(ApiKey).where(stale))
    return int(result.rowcount)  # type: ignore[attr-defined]
