"""The writer replays the history spool a dead process left, on SQLite and PostgreSQL:
each generation is stored once (one the dead process had already committed is not
repeated), ahead of new records so patches chain from one generation to the next, and
each file is deleted once its row is committed."""

from __future__ import annotations

import uuid
from pathlib import Path

import anyio
import pytest
from sqlalchemy import select

from kubeweft.db.engine import Database
from kubeweft.db.spool import HistorySpool
from kubeweft.db.tables import ChangeHistory
from kubeweft.db.writer import RecordWriter
from kubeweft.repositories import history
from tests.integration.db.test_writer import history as change

pytestmark = pytest.mark.anyio


async def stored(database: Database, uid: str) -> list[tuple[int, object]]:
    async with database.session() as session:
        rows = await session.execute(
            select(ChangeHistory.generation, ChangeHistory.patch)
            .where(ChangeHistory.uid == uid)
            .order_by(ChangeHistory.generation)
        )
        return [(generation, patch) for generation, patch in rows]


async def test_a_dead_process_spool_is_written_once_and_first(
    database: Database, tmp_path: Path
) -> None:
    uid = str(uuid.uuid4())
    async with database.transaction() as session:  # committed before the process died
        await history.record_change(session, change(uid, 1))
    left = HistorySpool(tmp_path / "spool")
    for generation in (1, 2, 3):
        left.keep(change(uid, generation))

    spool = HistorySpool(tmp_path / "spool")
    writer = RecordWriter(database, spool=spool)
    async with anyio.create_task_group() as tg:
        await tg.start(writer.run)
        writer.submit(change(uid, 4))  # the new process's first record
        assert await writer.flush(60)
        tg.cancel_scope.cancel()

    def image(generation: int) -> list[dict[str, object]]:
        return [{"op": "replace", "path": "/image", "value": f"nginx:{generation}"}]

    assert await stored(database, uid) == [(1, None), (2, image(2)), (3, image(3)), (4, image(4))]
    assert spool.load() == []
    assert list((tmp_path / "spool").iterdir()) == []


async def test_without_the_database_the_files_stay(tmp_path: Path) -> None:
    uid = str(uuid.uuid4())
    spool, kept = HistorySpool(tmp_path), change(uid, 1)
    spool.keep(kept)
    unreachable = Database("sqlite+aiosqlite:///" + str(tmp_path / "missing" / "x.db"))
    unreachable.connect()
    try:
        writer = RecordWriter(unreachable, spool=spool, initial_backoff_s=0.01)
        async with anyio.create_task_group() as tg:
            await tg.start(writer.run)
            assert not await writer.flush(0.5)
            tg.cancel_scope.cancel()
    finally:
        await unreachable.aclose()

    assert spool.load() == [kept]
