"""The reconciler's side-effect sink: a bounded buffer drained to the database.

The reconciler must not slow down, block or fail because the database is slow or
down (SPEC §1, §5). So ``submit`` only appends to an in-memory buffer and returns; a
runnable drains the buffer in batches, one transaction per batch. When a write fails
the batch is kept and retried with capped exponential backoff until the database
returns. The buffer is bounded: past ``buffer_size`` the oldest waiting record is
dropped and counted (``kubeweft_records_dropped_total``); ``kubeweft_records_pending``
shows how many wait.

Retries cannot duplicate history: rows are inserted with ON CONFLICT DO NOTHING on
(uid, generation), so a batch that committed but whose acknowledgement was lost, or a
generation recorded again by a restarted operator, leaves one row.

With a ``spool`` (``db.spool``, in the state directory) history also survives the
process: ``run`` first queues the history records a previous process left there, ahead
of anything new, and a history record's file is deleted once its row is committed. A
history record dropped from the full buffer stays in the spool and is written at the
next start.

With a ``changes`` feed (``db.changes``) each committed batch names the UIDs it wrote,
so views that keep what they read (``views.repository_source``) read them again.

``submit`` must be called from the event loop's thread (the reconciler's tasks).
"""

from __future__ import annotations

import logging
import math
from collections import deque

import anyio
from anyio.abc import TaskStatus
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kubeweft.db import records
from kubeweft.db.changes import RecordChanges
from kubeweft.db.engine import Database
from kubeweft.db.spool import HistorySpool
from kubeweft.runtime.metrics import RECORDS_DROPPED, RECORDS_PENDING, RECORDS_WRITTEN

log = logging.getLogger(__name__)

# SQLSTATE classes that say "this row can never be written" (22 data exception,
# 23 integrity constraint violation), as opposed to "the database is away".
_POISON_SQLSTATE_CLASSES = ("22", "23")


def _is_poison(exc: Exception) -> bool:
    if isinstance(exc, IntegrityError | DataError):
        return True
    if isinstance(exc, DBAPIError):
        sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        return isinstance(sqlstate, str) and sqlstate[:2] in _POISON_SQLSTATE_CLASSES
    return False


class RecordWriter:
    """Buffers ``records.Record`` values and writes them in the background.

    ``run`` is the runnable; ``submit`` never awaits; ``flush`` waits (bounded) until
    everything submitted so far is written, for graceful shutdown.
    """

    def __init__(
        self,
        db: Database | async_sessionmaker[AsyncSession],
        *,
        buffer_size: int = 10_000,
        batch_size: int = 500,
        batching: bool = True,
        initial_backoff_s: float = 0.1,
        max_backoff_s: float = 5.0,
        spool: HistorySpool | None = None,
        changes: RecordChanges | None = None,
    ) -> None:
        if buffer_size < 1:
            raise ValueError("buffer_size must be at least 1")
        self._db = db
        self.buffer_size = buffer_size
        self.batch_size = max(1, min(batch_size if batching else 1, buffer_size))
        self.initial_backoff_s = initial_backoff_s
        self.max_backoff_s = max_backoff_s
        #: Where history records wait on disk (None: in memory only).
        self.spool = spool
        # Told the UIDs of every committed batch, so readers drop what they kept of them.
        self._changes = changes
        self._buffer: deque[records.Record] = deque()
        self._in_flight: list[records.Record] = []
        self._wakeup = anyio.Event()
        self._progress = anyio.Event()
        self.written = 0
        self.dropped = 0
        self.failures = 0

    @property
    def pending(self) -> int:
        """Records submitted and not yet written (waiting or being written)."""
        return len(self._buffer) + len(self._in_flight)

    def submit(self, record: records.Record) -> None:
        """Queue a record for writing. Never blocks, never raises for a database problem."""
        self._buffer.append(record)
        while self.pending > self.buffer_size and self._buffer:
            self._buffer.popleft()
            self._count_dropped(1)
        self._wakeup.set()
        RECORDS_PENDING.set(self.pending)

    def _count_dropped(self, n: int) -> None:
        self.dropped += n
        RECORDS_DROPPED.inc(n)

    def _sessions(self) -> async_sessionmaker[AsyncSession]:
        return self._db.sessions if isinstance(self._db, Database) else self._db

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Drain until cancelled; a batch cut short by cancellation goes back in the buffer.

        History records left in the spool by a previous process are queued first, so
        each is stored before any later generation of its object (patches chain)."""
        if self.spool is not None:
            left = await anyio.to_thread.run_sync(self.spool.load)
            if left:
                log.warning("writing %d history records a previous process left", len(left))
                self._buffer.extendleft(reversed(left))
                self._requeue_in_flight()  # applies the bound, sets the gauge
        task_status.started()
        backoff = self.initial_backoff_s
        try:
            while True:
                if not self._buffer:
                    self._progressed()
                    await self._wakeup.wait()
                    self._wakeup = anyio.Event()
                    continue
                take = min(self.batch_size, len(self._buffer))
                self._in_flight = [self._buffer.popleft() for _ in range(take)]
                try:
                    await self._write_batch()
                except Exception as exc:
                    self.failures += 1
                    self._requeue_in_flight()
                    log.warning(
                        "database write failed; %d records wait, retrying in %.1fs: %s",
                        self.pending,
                        backoff,
                        exc,
                    )
                    await anyio.sleep(backoff)
                    backoff = min(backoff * 2, self.max_backoff_s)
                    continue
                backoff = self.initial_backoff_s
        finally:
            self._requeue_in_flight()

    def _requeue_in_flight(self) -> None:
        """Put the unwritten batch back at the front, oldest first; the bound still holds."""
        self._buffer.extendleft(reversed(self._in_flight))
        self._in_flight = []
        while self.pending > self.buffer_size:
            self._buffer.popleft()
            self._count_dropped(1)
        RECORDS_PENDING.set(self.pending)

    async def _write_batch(self) -> None:
        try:
            await self._write(self._in_flight)
        except Exception as exc:
            if not _is_poison(exc):
                raise
            # A record the database refuses (not a database outage): find it, keep the rest.
            while self._in_flight:
                record = self._in_flight[0]
                try:
                    await self._write([record])
                except Exception as exc:
                    if not _is_poison(exc):
                        raise
                    log.error("dropping a record the database refuses: %r: %s", record, exc)
                    await self._stored([self._in_flight.pop(0)])
                    self._count_dropped(1)
                    continue
                await self._stored([self._in_flight.pop(0)])
                self._count_written(1)
            return
        written, self._in_flight = self._in_flight, []
        await self._stored(written)
        self._count_written(len(written))

    async def _stored(self, batch: list[records.Record]) -> None:
        """The batch is committed (or refused for good): its spooled history is done."""
        done = [r for r in batch if isinstance(r, records.HistoryRecord)]
        if self.spool is not None and done:
            # Off the event loop: a batch of unlinks can take a while on a busy disk.
            await anyio.to_thread.run_sync(self._drop_spooled, done)

    def _drop_spooled(self, done: list[records.HistoryRecord]) -> None:
        assert self.spool is not None
        for record in done:
            try:
                self.spool.drop(record)
            except OSError as exc:  # replayed (and ignored) at the next start
                log.warning("history spool file not removed: %s", exc)

    def _count_written(self, n: int) -> None:
        self.written += n
        RECORDS_WRITTEN.inc(n)
        RECORDS_PENDING.set(self.pending)
        self._progressed()

    def _progressed(self) -> None:
        """Wake ``flush`` waiters to look at ``pending`` again."""
        self._progress.set()
        self._progress = anyio.Event()

    async def _write(self, batch: list[records.Record]) -> None:
        async with self._sessions()() as session, session.begin():
            await records.write_records(session, batch)
        if self._changes is not None:
            self._changes.touched(record.uid for record in batch)

    async def flush(self, timeout_s: float = math.inf) -> bool:
        """Wait until every record submitted so far is written; False on timeout.

        Needs ``run`` to be running (it does the writing).
        """
        with anyio.move_on_after(timeout_s):
            while self.pending:
                await self._progress.wait()
        return self.pending == 0
