"""The API audit trail: who did what to which object through the REST API, and the outcome."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from kubeweft.db.tables import ACTOR_LENGTH, KIND_LENGTH, NAME_LENGTH, ApiAudit
from kubeweft.db.types import utcnow
from kubeweft.repositories import _prune, _validate


async def record_audit(
    session: AsyncSession,
    *,
    actor: str,
    verb: str,
    target_kind: str,
    outcome: str,
    target_namespace: str | None = None,
    target_name: str | None = None,
    target_uid: str | None = None,
    status_code: int | None = None,
    request_id: str | None = None,
    ts: datetime | None = None,
) -> ApiAudit:
    """Append an audit entry (``outcome`` e.g. "allowed", "denied", "error")."""
    row = ApiAudit(
        ts=_validate.aware(ts, "ts") if ts is not None else utcnow(),
        actor=_validate.text(actor, "actor", max_length=ACTOR_LENGTH),
        verb=_validate.text(verb, "verb", max_length=32),
        target_kind=_validate.text(target_kind, "target_kind", max_length=KIND_LENGTH),
        target_namespace=_validate.optional_text(
            target_namespace, "target_namespace", max_length=NAME_LENGTH
        ),
        target_name=_validate.optional_text(target_name, "target_name", max_length=NAME_LENGTH),
        target_uid=_validate.uid(target_uid, "target_uid") if target_uid is not None else None,
        outcome=_validate.text(outcome, "outcome", max_length=32),
        status_code=status_code,
        request_id=_validate.optional_text(request_id, "request_id", max_length=64),
    )
    session.add(row)
    await session.flush()
    return row


def _in_range(
    stmt: Select[ApiAudit], since: datetime | None, until: datetime | None
) -> Select[ApiAudit]:
    if since is not None:
        stmt = stmt.where(ApiAudit.ts >= _validate.aware(since, "since"))
    if until is not None:
        stmt = stmt.where(ApiAudit.ts < _validate.aware(until, "until"))
    return stmt


async def audit_by_actor(
    session: AsyncSession,
    actor: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
) -> list[ApiAudit]:
    """One user's requests, newest first."""
    actor = _validate.text(actor, "actor", max_length=ACTOR_LENGTH)
    stmt = _in_range(select(ApiAudit).where(ApiAudit.actor == actor), since, until)
    stmt = stmt.order_by(ApiAudit.ts.desc(), ApiAudit.id.desc())
    return list((await session.scalars(stmt.limit(_validate.positive(limit, "limit")))).all())


async def audit_for_uid(
    session: AsyncSession,
    uid: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
) -> list[ApiAudit]:
    """Requests that targeted one resource, newest first."""
    stmt = _in_range(
        select(ApiAudit).where(ApiAudit.target_uid == _validate.uid(uid)), since, until
    )
    stmt = stmt.order_by(ApiAudit.ts.desc(), ApiAudit.id.desc())
    return list((await session.scalars(stmt.limit(_validate.positive(limit, "limit")))).all())


async def audit_in_range(
    session: AsyncSession, since: datetime, until: datetime | None = None, *, limit: int = 1000
) -> list[ApiAudit]:
    """Every request in ``[since, until)``, oldest first."""
    stmt = _in_range(select(ApiAudit), since, until).order_by(ApiAudit.ts, ApiAudit.id)
    return list((await session.scalars(stmt.limit(_validate.positive(limit, "limit")))).all())


async def prune_audit(
    session: AsyncSession, older_than: datetime, *, limit: int | None = None
) -> int:
    """Delete entries older than ``older_than`` (the oldest ``limit``); returns how many."""
    return await _prune.delete_older(session, ApiAudit.ts, ApiAudit.id, older_than, limit=limit)
