"""Change history: one row per generation of a resource of any model, once per generation.

Each row holds the spec of that generation and the RFC 6902 patch from the previous
stored one (``db.records.write_history`` computes it).

Reads are by UID (newest generation first), by actor and by time range, plus the batch
form ``history_for`` that a list page uses: the latest N rows of each of many UIDs in
one statement per ``_batch.IN_BATCH`` UIDs (a window function, served by the
(uid, generation) unique index).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Select, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from kubeweft.db import records
from kubeweft.db.tables import ACTOR_LENGTH, KIND_LENGTH, NAME_LENGTH, ChangeHistory
from kubeweft.repositories import _batch, _prune, _validate


def _check(record: records.HistoryRecord) -> None:
    _validate.uid(record.uid)
    _validate.text(record.namespace, "namespace", max_length=NAME_LENGTH)
    _validate.text(record.name, "name", max_length=NAME_LENGTH)
    _validate.text(record.kind, "kind", max_length=KIND_LENGTH)
    _validate.optional_text(record.actor, "actor", max_length=ACTOR_LENGTH)


async def record_change(session: AsyncSession, record: records.HistoryRecord) -> bool:
    """Store a change; False when that (uid, generation) was already recorded."""
    _check(record)
    before = await _count(session, record.uid, record.generation)
    await records.write_history(session, [record])
    return before == 0


async def _count(session: AsyncSession, uid: str, generation: int) -> int:
    stmt = select(func.count()).where(
        ChangeHistory.uid == uid, ChangeHistory.generation == generation
    )
    return int((await session.execute(stmt)).scalar_one())


async def history_by_uid(
    session: AsyncSession, uid: str, *, limit: int = 50, before_generation: int | None = None
) -> list[ChangeHistory]:
    """A resource's history, newest generation first (``before_generation`` pages back)."""
    uid = _validate.uid(uid)
    stmt = select(ChangeHistory).where(ChangeHistory.uid == uid)
    if before_generation is not None:
        stmt = stmt.where(ChangeHistory.generation < before_generation)
    stmt = stmt.order_by(ChangeHistory.generation.desc()).limit(_validate.positive(limit, "limit"))
    return list((await session.scalars(stmt)).all())


async def history_at(session: AsyncSession, uid: str, generation: int) -> ChangeHistory | None:
    """The row of one generation of a resource, or None when it was not recorded."""
    stmt = select(ChangeHistory).where(
        ChangeHistory.uid == _validate.uid(uid), ChangeHistory.generation == generation
    )
    row: ChangeHistory | None = (await session.scalars(stmt)).one_or_none()
    return row


async def history_for(
    session: AsyncSession, uids: Iterable[str], *, limit_per_uid: int = 10
) -> dict[str, list[ChangeHistory]]:
    """The latest ``limit_per_uid`` rows of each UID, one statement per ``_batch.IN_BATCH``
    UIDs (the ranking is per UID, so batches do not change the answer).

    Every requested UID is a key of the result, with an empty list when it has no rows.
    """
    wanted = _validate.uids(uids)
    _validate.positive(limit_per_uid, "limit_per_uid")
    result: dict[str, list[ChangeHistory]] = {uid: [] for uid in wanted}
    rank = (
        func.row_number()
        .over(partition_by=ChangeHistory.uid, order_by=ChangeHistory.generation.desc())
        .label("rank")
    )
    for batch in _batch.batches(wanted):
        ranked = select(ChangeHistory, rank).where(ChangeHistory.uid.in_(batch)).subquery()
        entry = aliased(ChangeHistory, ranked)
        stmt = (
            select(entry)
            .where(ranked.c.rank <= limit_per_uid)
            .order_by(ranked.c.uid, ranked.c.generation.desc())
        )
        for row in (await session.scalars(stmt)).all():
            result[row.uid].append(row)
    return result


async def history_by_actor(
    session: AsyncSession,
    actor: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
) -> list[ChangeHistory]:
    """Changes one user made, newest first."""
    actor = _validate.text(actor, "actor", max_length=ACTOR_LENGTH)
    stmt = select(ChangeHistory).where(ChangeHistory.actor == actor)
    stmt = _in_range(stmt, since, until)
    stmt = stmt.order_by(ChangeHistory.created_at.desc()).limit(_validate.positive(limit, "limit"))
    return list((await session.scalars(stmt)).all())


async def history_in_range(
    session: AsyncSession, since: datetime, until: datetime | None = None, *, limit: int = 1000
) -> list[ChangeHistory]:
    """Every change in ``[since, until)``, oldest first."""
    stmt = _in_range(select(ChangeHistory), since, until)
    stmt = stmt.order_by(ChangeHistory.created_at).limit(_validate.positive(limit, "limit"))
    return list((await session.scalars(stmt)).all())


def _in_range(
    stmt: Select[ChangeHistory], since: datetime | None, until: datetime | None
) -> Select[ChangeHistory]:
    if since is not None:
        stmt = stmt.where(ChangeHistory.created_at >= _validate.aware(since, "since"))
    if until is not None:
        stmt = stmt.where(ChangeHistory.created_at < _validate.aware(until, "until"))
    return stmt


async def prune_history(
    session: AsyncSession, older_than: datetime, *, limit: int | None = None
) -> int:
    """Delete changes recorded before ``older_than`` (the oldest ``limit``); how many."""
    return await _prune.delete_older(
        session, ChangeHistory.created_at, ChangeHistory.id, older_than, limit=limit
    )


async def delete_history(session: AsyncSession, uid: str) -> int:
    """Forget a resource's history; returns how many rows went."""
    result = await session.execute(
        delete(ChangeHistory).where(ChangeHistory.uid == _validate.uid(uid))
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
