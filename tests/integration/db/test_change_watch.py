"""The change watch's own SQLite connection, on a real SQLite file."""

from __future__ import annotations

import threading
from pathlib import Path

import anyio
import pytest

from kubeweft.db.change_watch import ChangeWatch
from kubeweft.db.changes import RecordChanges
from kubeweft.db.engine import Database
from tests.support.migrated import migrate_fresh
from tests.support.waiting import wait_until_async

pytestmark = pytest.mark.anyio


def aiosqlite_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if "_connection_worker_thread" in t.name}


async def test_a_cancelled_watch_closes_its_connection_while_the_loop_runs(
    tmp_path: Path,
) -> None:
    # A connection left open when the watch is cancelled keeps aiosqlite's thread, which
    # later reports its last result into an event loop that is closed by then.
    url = f"sqlite+aiosqlite:///{tmp_path / 'kubeweft.db'}"
    await migrate_fresh(url)
    database = Database(url).connect()
    before = aiosqlite_threads()
    try:
        feed = RecordChanges()
        async with anyio.create_task_group() as tg:
            await tg.start(ChangeWatch(database, feed, poll_interval=0).run)

            async def live() -> bool:
                return feed.live

            await wait_until_async(live, what="the watch to poll")
            watching = aiosqlite_threads() - before
            assert watching, "the watch polls on a connection of its own"
            tg.cancel_scope.cancel()
        assert not feed.live
        for thread in watching:  # a closed connection's thread ends; an open one waits
            thread.join(timeout=10)
        assert [thread for thread in watching if thread.is_alive()] == []
    finally:
        await database.aclose()
