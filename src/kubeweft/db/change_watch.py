"""Other processes' writes of records, brought into this process's change feed.

A process that does not run the record writer — ``kubeweft run --no-controller``, a
replica that is not the leader — still serves views that keep what they read
(``db.changes``). They may keep it only while every other writer's commits reach the
feed. ``ChangeWatch`` is the runnable that brings them, and the feed is ``live`` only
while it runs and sees:

* **PostgreSQL**: every write of records sends a NOTIFY on ``changes.CHANNEL`` in its
  own transaction (``changes.notify``), delivered at commit. The watch LISTENs on a
  connection of its own and hands each payload's UIDs (or "everything") to the feed. A
  lost listening connection — closed, or silent past ``keepalive`` plus the statement
  timeout — drops every kept answer (``watching(False)``) and reconnects; nothing is
  kept until it listens again.
* **SQLite**: ``PRAGMA data_version`` on a dedicated connection changes whenever
  another connection commits, whichever process it belongs to. A change cannot tell
  this process's commits (already in the feed, by UID) from another's, so each change
  drops every kept answer. It is read every ``poll_interval``. An in-memory database
  has no other connection to watch: the feed never goes live there.

So a reader in another process may see a committed write late by at most the
notification's delivery (PostgreSQL) or ``poll_interval`` plus one poll (SQLite);
within the process that wrote, never late (the writer publishes after its commit).
"""

from __future__ import annotations

import logging
from typing import Any

import anyio
from anyio.abc import TaskStatus
from sqlalchemy.engine import make_url

from kubeweft.db import changes
from kubeweft.db.engine import Database, _postgres_connect_args

__all__ = ["APPLICATION_NAME", "ChangeWatch"]

#: How the listening connection names itself to PostgreSQL (``pg_stat_activity``).
APPLICATION_NAME = "kubeweft change watch"
# The payload of ``sync``'s marks: no UID starts so.
_SYNC = "sync "

log = logging.getLogger(__name__)


class ChangeWatch:
    """Keeps a ``RecordChanges`` live while every other process's writes reach it."""

    #: Runs on every replica: each serves views.
    need_leader_election = False

    def __init__(
        self,
        database: Database,
        feed: changes.RecordChanges,
        *,
        poll_interval: float = 0.25,
        keepalive: float = 5.0,
        retry_interval: float = 1.0,
    ) -> None:
        self.database = database
        self.feed = feed
        self.poll_interval = poll_interval
        self.keepalive = keepalive
        self.retry_interval = retry_interval
        # sync(): marks sent on the listening connection and heard back (PostgreSQL),
        # polls completed (SQLite); ``_progress`` is set (and replaced) when either moves.
        self._connection: Any = None
        self._sent = self._heard = self._polls = 0
        self._progress = anyio.Event()
        self._use = anyio.Lock()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        # Ready at once: until the watch sees every writer the feed is not live, and
        # views read the database each time, as without a feed.
        task_status.started()
        if self.database.dialect == "sqlite" and _in_memory(self.database.url):
            return
        while True:
            try:
                if self.database.dialect == "postgresql":
                    await self._listen()
                else:
                    await self._poll()
            except Exception as exc:
                log.warning("record change watch lost (%s); views read the database", exc)
            finally:
                self.feed.watching(False)
            await anyio.sleep(self.retry_interval)

    async def sync(self) -> None:
        """Wait until every commit made before the call has reached the feed.

        PostgreSQL delivers notifications in commit order, so once a mark NOTIFYed on the
        watch's own connection after the call comes back, every earlier commit's has;
        on SQLite, a poll that began after the call has completed."""
        if self.database.dialect == "postgresql":
            while self._connection is None:
                await self._progressed()
            connection = self._connection
            self._sent += 1
            mark = self._sent
            async with self._use:
                await connection.execute(f"SELECT pg_notify('{changes.CHANNEL}', '{_SYNC}{mark}')")
            while self._heard < mark:
                await self._progressed()
        else:
            target = self._polls + 2  # the poll under way may have read before the call
            while self._polls < target:
                await self._progressed()

    async def _progressed(self) -> None:
        await self._progress.wait()

    def _moved(self) -> None:
        self._progress.set()
        self._progress = anyio.Event()

    async def _listen(self) -> None:
        import asyncpg

        dsn = make_url(self.database.url).set(drivername="postgresql")
        connect_args = _postgres_connect_args(self.database.statement_timeout)
        connect_args["server_settings"]["application_name"] = APPLICATION_NAME
        connection = await asyncpg.connect(
            dsn.render_as_string(hide_password=False), **connect_args
        )
        lost = anyio.Event()
        feed = self.feed

        own_pid = connection.get_server_pid()

        def heard(_connection: Any, pid: int, _channel: str, payload: str) -> None:
            if payload == changes.EVERYTHING:
                feed.everything()
            elif payload.startswith(_SYNC):
                if pid == own_pid:  # not another process's watch's mark
                    self._heard = max(self._heard, int(payload[len(_SYNC) :]))
                    self._moved()
            else:
                feed.touched(payload.split(","))

        try:
            connection.add_termination_listener(lambda _connection: lost.set())
            await connection.add_listener(changes.CHANNEL, heard)
            feed.watching(True)
            self._connection = connection
            self._moved()
            while not lost.is_set():
                with anyio.move_on_after(self.keepalive):
                    await lost.wait()
                if not lost.is_set():
                    # A connection can die without a close the client sees.
                    with anyio.fail_after(self._timeout()):
                        async with self._use:
                            await connection.fetchval("SELECT 1")
            raise ConnectionError("the listening connection was closed")
        finally:
            self._connection = None
            feed.watching(False)  # drops everything: marks still in flight are moot
            self._heard = self._sent
            self._moved()
            connection.terminate()

    async def _poll(self) -> None:
        import aiosqlite

        url = make_url(self.database.url)
        path = url.database or ""
        uri = path.startswith("file:")
        connection = await aiosqlite.connect(path, uri=uri, isolation_level=None)

        async def data_version() -> int:
            with anyio.fail_after(self._timeout()):
                async with connection.execute("PRAGMA data_version") as cursor:
                    row = await cursor.fetchone()
            assert row is not None
            return int(row[0])

        try:
            seen = await data_version()
            self.feed.watching(True)
            while True:
                await anyio.sleep(self.poll_interval)
                now = await data_version()
                if now != seen:
                    seen = now
                    self.feed.everything()
                self._polls += 1
                self._moved()
        finally:
            # Closed also when the watch is cancelled: aiosqlite's thread must end while
            # its event loop still runs, or it reports into a closed loop.
            with anyio.CancelScope(shield=True):
                await connection.close()

    def _timeout(self) -> float:
        return self.database.statement_timeout or 5.0


def _in_memory(url: str) -> bool:
    path = make_url(url).database or ""
    return path in ("", ":memory:") or "mode=memory" in path
