"""The reconcile log: every attempt the reconciler made, by UID, by time, by outcome."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from kubeweft.db import records
from kubeweft.db.tables import KIND_LENGTH, NAME_LENGTH, RECONCILE_OUTCOMES, ReconcileLog
from kubeweft.repositories import _prune, _validate
from kubeweft.repositories.errors import ValidationError


async def record_attempt(session: AsyncSession, record: records.ReconcileRecord) -> None:
    _validate.uid(record.uid)
    # "" for a cluster-scoped object, which has no namespace.
    _validate.text(record.namespace, "namespace", max_length=NAME_LENGTH, allow_empty=True)
    _validate.text(record.name, "name", max_length=NAME_LENGTH)
    _validate.text(record.kind, "kind", max_length=KIND_LENGTH)
    await records.write_reconciles(session, [record])


def _in_range(
    stmt: Select[ReconcileLog], since: datetime | None, until: datetime | None
) -> Select[ReconcileLog]:
    if since is not None:
        stmt = stmt.where(ReconcileLog.started_at >= _validate.aware(since, "since"))
    if until is not None:
        stmt = stmt.where(ReconcileLog.started_at < _validate.aware(until, "until"))
    return stmt


async def attempts_by_uid(
    session: AsyncSession,
    uid: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
) -> list[ReconcileLog]:
    """A resource's attempts, newest first."""
    stmt = _in_range(
        select(ReconcileLog).where(ReconcileLog.uid == _validate.uid(uid)), since, until
    )
    stmt = stmt.order_by(ReconcileLog.started_at.desc(), ReconcileLog.id.desc())
    return list((await session.scalars(stmt.limit(_validate.positive(limit, "limit")))).all())


async def attempts_in_range(
    session: AsyncSession,
    since: datetime,
    until: datetime | None = None,
    *,
    outcome: str | None = None,
    limit: int = 1000,
) -> list[ReconcileLog]:
    """Attempts of every resource in ``[since, until)``, oldest first, optionally one outcome."""
    stmt = _in_range(select(ReconcileLog), since, until)
    if outcome is not None:
        if outcome not in RECONCILE_OUTCOMES:
            raise ValidationError("outcome", f"must be one of {', '.join(RECONCILE_OUTCOMES)}")
        stmt = stmt.where(ReconcileLog.outcome == outcome)
    stmt = stmt.order_by(ReconcileLog.started_at, ReconcileLog.id)
    return list((await session.scalars(stmt.limit(_validate.positive(limit, "limit")))).all())


async def delete_attempts(session: AsyncSession, uid: str) -> int:
    result = await session.execute(
        delete(ReconcileLog).where(ReconcileLog.uid == _validate.uid(uid))
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def prune_attempts(
    session: AsyncSession, older_than: datetime, *, limit: int | None = None
) -> int:
    """Delete attempts that started before ``older_than`` (the oldest ``limit``); how many."""
    return await _prune.delete_older(
        session, ReconcileLog.started_at, ReconcileLog.id, older_than, limit=limit
    )
