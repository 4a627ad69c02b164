"""A unit of work: several repository calls committed together or not at all.

``async with unit_of_work(db) as session:`` opens a transaction; leaving the block
normally commits it, leaving with an exception rolls it back, so a write that is
refused halfway (a ``ValidationError`` from the third call) leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kubeweft.db.engine import Database


@asynccontextmanager
async def unit_of_work(
    db: Database | async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    sessions = db.sessions if isinstance(db, Database) else db
    async with sessions() as session, session.begin():
        yield session
