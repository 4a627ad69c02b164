"""Counting the database reads a test makes: every statement through the engine, and
every connection the read model borrows from the driver's own pool (whose statements
SQLAlchemy's events never see)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from kubeweft.db.engine import Database

__all__ = ["counting"]


@contextmanager
def counting(database: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every statement through the engine and every read-model driver connection."""
    reads: list[str] = []

    def cursor(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        reads.append(statement)

    lend = database.driver_connection

    @asynccontextmanager
    async def counted() -> AsyncIterator[Any]:
        reads.append("read model statement")
        async with lend() as connection:
            yield connection

    event.listen(database.engine.sync_engine, "before_cursor_execute", cursor)
    monkeypatch.setattr(database, "driver_connection", counted)
    try:
        yield reads
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", cursor)
        monkeypatch.undo()
