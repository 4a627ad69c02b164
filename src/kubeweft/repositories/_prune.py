"""Deleting rows older than a cut-off, at most ``limit`` of them per statement.

One ``DELETE … WHERE ts < cut-off`` over a month of rows holds its locks (and, on
SQLite, the one write lock) for as long as it runs, and blocks the record writer behind
it. Deleting the oldest ``limit`` rows at a time — chosen by a subquery over the time
index, which both PostgreSQL and SQLite accept — keeps each transaction short; the
retention job commits between batches.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from kubeweft.repositories import _validate


async def delete_older(
    session: AsyncSession,
    ts: InstrumentedAttribute[datetime],
    key: InstrumentedAttribute[int],
    older_than: datetime,
    *,
    limit: int | None,
) -> int:
    """Delete rows whose ``ts`` is before ``older_than`` (the oldest ``limit`` of them)."""
    cutoff = _validate.aware(older_than, "older_than")
    condition: ColumnElement[bool] = ts < cutoff
    if limit is None:
        result = await session.execute(delete(ts.class_).where(condition))
    else:
        oldest = select(key).where(condition).order_by(ts).limit(_validate.positive(limit, "limit"))
        result = await session.execute(delete(ts.class_).where(key.in_(oldest)))
    return int(result.rowcount)  # type: ignore[attr-defined]
