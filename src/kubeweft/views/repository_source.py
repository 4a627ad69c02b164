"""The join layer's database side over kubeweft's repositories.

One short session per call, and a fixed number of statements per call however many
rows or UIDs are involved (the detail view: one, from ``repositories.read_model``, sent
on the driver's connection; a list page: one, as SQL text, whose rows are decoded only
when they changed since the last page: ``LatestSamples``).

With a live change feed (``db.changes``) the two reads of the join keep what they read
and often make no statement at all: a detail's rows (``KeptDetails``) while no write
touched the UID and the metric window still holds the same samples, a page's latest
samples while no UID of the page was written. Without a feed, or while it is not live
(it cannot see every process's writes), every read goes to the database. Any driver or
connection failure becomes :class:`DatabaseUnavailable` (the seed's "DB query fails →
500"), one that ran out of time (the statement timeout, applied to the whole session)
:class:`DatabaseTimeout` (503); the driver's message is chained for the log, never
shown to a client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Hashable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime
from types import MappingProxyType

import anyio
from sqlalchemy.ext.asyncio import AsyncSession

from kubeweft.db import tables
from kubeweft.db.changes import RecordChanges
from kubeweft.db.engine import Database, is_timeout
from kubeweft.repositories import NotFoundError, read_model, unit_of_work
from kubeweft.repositories import annotations as annotation_rows
from kubeweft.repositories import audit as audit_rows
from kubeweft.repositories import history as history_rows
from kubeweft.repositories import metrics as metric_rows
from kubeweft.views.errors import DatabaseTimeout, DatabaseUnavailable
from kubeweft.views.records import (
    AnnotationEntry,
    AuditEntry,
    HistoryEntry,
    MetricAggregate,
    MetricBucket,
    MetricPoint,
    MetricSeriesPoint,
    ResourceRecords,
    ResourceRef,
)

__all__ = ["KeptDetails", "LatestSamples", "RepositorySource"]

# Enough attempts to make a rate meaningful, few enough to stay one cheap query.
ERROR_RATE_SAMPLE = 100


class RepositorySource:
    """A :class:`~kubeweft.views.records.RecordStore` backed by the database."""

    def __init__(
        self,
        database: Database,
        *,
        changes: RecordChanges | None = None,
        latest_capacity: int = 4096,
        detail_capacity: int = 4096,
    ) -> None:
        self._database = database
        self._changes = changes
        self._latest = LatestSamples(latest_capacity)
        self._details = KeptDetails(detail_capacity)
        self._reading: dict[Hashable, anyio.Event] = {}

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """The deadline, and a driver's failure as DatabaseUnavailable / DatabaseTimeout."""
        try:
            with self._database.deadline():
                yield
        except (DatabaseUnavailable, NotFoundError):
            raise
        except Exception as exc:
            if is_timeout(exc):
                raise DatabaseTimeout(
                    type(exc).__name__, retry_after=self._database.retry_after
                ) from exc
            raise DatabaseUnavailable(type(exc).__name__) from exc

    @asynccontextmanager
    async def _session(self) -> AsyncIterator[AsyncSession]:
        with self._guard():
            async with unit_of_work(self._database) as session:
                yield session

    def kept_records(
        self, uid: str, *, history_limit: int, since: datetime
    ) -> ResourceRecords | None:
        """The rows ``resource_records`` would read, when it has them kept (no await)."""
        changes = self._changes
        if changes is None or not changes.live:
            return None
        return self._details.get(uid, history_limit, since, changes)

    async def resource_records(
        self, uid: str, *, history_limit: int, since: datetime
    ) -> ResourceRecords:
        kept = self.kept_records(uid, history_limit=history_limit, since=since)
        if kept is not None:
            return kept
        changes = self._changes
        key = (uid, history_limit)
        if changes is not None and changes.live and await self._read_under_way(key):
            kept = self.kept_records(uid, history_limit=history_limit, since=since)
            if kept is not None:
                return kept
        snapshot = changes.snapshot() if changes is not None else None
        with self._guard(), self._reading_now(key, snapshot):
            rows = await read_model.detail_rows(
                self._database,
                uid,
                since=since,
                history_limit=history_limit,
                attempt_limit=ERROR_RATE_SAMPLE,
            )
        # The read model's rows have the views' shapes field for field.
        records = ResourceRecords(
            history=[
                HistoryEntry(
                    h.generation, h.spec, h.patch, h.actor, h.source, h.created_at, h.rolled_back_to
                )
                for h in rows.history
            ],
            metrics={
                name: MetricAggregate(a.latest, a.min, a.max, a.avg, a.count, a.latest_at)
                for name, a in rows.metrics.items()
            },
            annotations=[
                AnnotationEntry(a.id, a.author, a.body, a.created_at) for a in rows.annotations
            ],
            reconcile_error_rate=rows.failures / rows.attempts if rows.attempts else None,
        )
        if snapshot is not None:
            self._details.keep(uid, history_limit, since, rows.window_oldest, snapshot, records)
        return records

    def records_version(self) -> int | None:
        """The change feed's version now, or None when what is read must not be kept."""
        return self._changes.snapshot() if self._changes is not None else None

    def records_unchanged(self, uids: Sequence[str], version: int) -> bool:
        """True when no row of ``uids`` changed after ``version`` (``records_version``)."""
        return self._changes is not None and self._changes.none_changed(uids, version)

    async def latest_metrics(self, uids: Sequence[str]) -> dict[str, Mapping[str, MetricPoint]]:
        kept = self._latest
        changes = self._changes
        snapshot = changes.snapshot() if changes is not None else None
        if snapshot is not None:
            assert changes is not None
            page = kept.unchanged(uids, changes)
            if page is not None:
                return page
            key = tuple(uids)
            if await self._read_under_way(key):
                page = kept.unchanged(uids, changes)
                if page is not None:
                    return page
            snapshot = changes.snapshot()
        else:
            key = ()
        with self._guard(), self._reading_now(key, snapshot):
            found = await read_model.latest_sample_rows(self._database, uids)
        return {uid: kept.samples(uid, rows, snapshot) for uid, rows in found.items()}

    async def _read_under_way(self, key: Hashable) -> bool:
        """Wait for a read of ``key`` that another request has under way; False if none.

        After the feed drops what was kept, concurrent requests for the same page or
        detail would each send the statement (32 at once under load, one after another
        on aiosqlite's thread); the first reads, the others wait and then look at what it
        kept — which holds for them only if nothing was written since its snapshot.
        """
        reading = self._reading.get(key)
        if reading is None:
            return False
        await reading.wait()
        return True

    @contextmanager
    def _reading_now(self, key: Hashable, snapshot: int | None) -> Iterator[None]:
        """Mark a read of ``key`` under way (with a live feed) until it ends, however."""
        if snapshot is None or key in self._reading:
            yield
            return
        done = self._reading[key] = anyio.Event()
        try:
            yield
        finally:
            del self._reading[key]
            done.set()

    async def history(self, uid: str, *, limit: int) -> list[HistoryEntry]:
        async with self._session() as session:
            rows = await history_rows.history_by_uid(session, uid, limit=limit)
        return [_history(row) for row in rows]

    async def history_entry(self, uid: str, generation: int) -> HistoryEntry | None:
        async with self._session() as session:
            row = await history_rows.history_at(session, uid, generation)
        return _history(row) if row is not None else None

    async def metric_buckets(
        self, uid: str, *, since: datetime, until: datetime, buckets: int
    ) -> dict[str, list[MetricBucket]]:
        async with self._session() as session:
            found = await metric_rows.metric_buckets(
                session, uid, since=since, until=until, buckets=buckets
            )
        return {
            name: [MetricBucket(b.index, b.min, b.max, b.avg, b.count) for b in slices]
            for name, slices in found.items()
        }

    async def metric_series(
        self, uid: str, *, since: datetime, name: str | None
    ) -> list[MetricSeriesPoint]:
        async with self._session() as session:
            series = await metric_rows.metric_series(
                session, uid, since=since, names=[name] if name else None
            )
        return [
            MetricSeriesPoint(metric, s.value, s.ts)
            for metric, samples in series.items()
            for s in samples
        ]

    async def annotations(self, uid: str) -> list[AnnotationEntry]:
        async with self._session() as session:
            rows = await annotation_rows.annotations_for(session, uid)
        return [_annotation(row) for row in rows]

    async def add_annotation(self, ref: ResourceRef, *, author: str, body: str) -> AnnotationEntry:
        async with self._session() as session:
            row = await annotation_rows.create_annotation(
                session,
                uid=ref.uid,
                namespace=ref.namespace,
                name=ref.name,
                kind=ref.kind,
                author=author,
                body=body,
            )
            entry = _annotation(row)
        self._wrote(ref.uid)
        return entry

    async def delete_annotation(self, uid: str, annotation_id: int) -> bool:
        try:
            async with self._session() as session:
                await annotation_rows.delete_annotation(session, annotation_id, uid=uid)
        except NotFoundError:
            return False
        self._wrote(uid)
        return True

    def _wrote(self, uid: str) -> None:
        """A write of ``uid``'s rows committed: what any reader kept of it is old."""
        if self._changes is not None:
            self._changes.touched((uid,))

    async def audit(self, entry: AuditEntry) -> None:
        async with self._session() as session:
            await audit_rows.record_audit(
                session,
                actor=entry.actor,
                verb=entry.verb,
                target_kind=entry.kind,
                target_namespace=entry.namespace,
                target_name=entry.name,
                target_uid=entry.uid,
                outcome=entry.outcome,
                status_code=entry.status_code,
                request_id=entry.request_id,
            )


_NO_SAMPLES: Mapping[str, MetricPoint] = MappingProxyType({})


class LatestSamples:
    """Each UID's latest samples as a read-only mapping, kept while its rows are unchanged.

    A list page asks for the same rows again and again (an object's samples change at
    most once per sampling interval), and decoding 3,000 rows into datetimes and
    ``MetricPoint``s on every page was most of its cost. Here a UID's rows are compared
    with the rows its mapping was made from (tuples, compared in C) and decoded only
    when they differ. The same mapping instance for unchanged rows also lets a body keep
    its encoded form (``rest.bodies``). The newest ``capacity`` UIDs are kept.

    Each UID's entry also remembers the change feed's snapshot its rows were read at
    (None without a live feed): while no write of any UID of a page committed since,
    ``unchanged`` answers the page without the statement.
    """

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._kept: dict[
            str, tuple[read_model.SampleRows, Mapping[str, MetricPoint], int | None]
        ] = {}

    def samples(
        self, uid: str, rows: read_model.SampleRows, snapshot: int | None = None
    ) -> Mapping[str, MetricPoint]:
        kept = self._kept.get(uid)
        if kept is not None and kept[0] == rows:
            if kept[2] != snapshot:
                self._kept[uid] = (rows, kept[1], snapshot)
            return kept[1]
        if rows:
            decoded = read_model.decode_samples(rows)
            points: Mapping[str, MetricPoint] = MappingProxyType(
                {name: MetricPoint(v, ts) for name, (v, ts) in decoded.items()}
            )
        else:
            points = _NO_SAMPLES
        self._kept.pop(uid, None)  # re-inserted as the newest
        self._kept[uid] = (rows, points, snapshot)
        if len(self._kept) > self._capacity:
            del self._kept[next(iter(self._kept))]
        return points

    def unchanged(
        self, uids: Sequence[str], changes: RecordChanges
    ) -> dict[str, Mapping[str, MetricPoint]] | None:
        """Every UID's kept samples when none was written since they were read, else None."""
        page: dict[str, Mapping[str, MetricPoint]] = {}
        kept = self._kept
        unchanged = changes.unchanged
        for uid in uids:
            entry = kept.get(uid)
            if entry is None or entry[2] is None or not unchanged(uid, entry[2]):
                return None
            page[uid] = entry[1]
        return page

    def __len__(self) -> int:
        return len(self._kept)


class KeptDetails:
    """Each UID's detail rows (``ResourceRecords``), kept while they hold.

    Rows read at change-feed snapshot ``s`` for a window starting at ``since`` hold for
    a later window start ``t`` while no write of the UID committed after ``s`` and the
    window still counts the same samples and attempts: ``since <= t <= oldest``, the
    oldest one counted (``read_model.DetailRows.window_oldest``; any ``t`` without one).
    Past that the oldest has left the window and the figures would change on their own,
    so the rows are read again — an exact bound, no time-to-live guess. The newest
    ``capacity`` (UID, history limit) pairs are kept.
    """

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._kept: dict[
            tuple[str, int], tuple[int, datetime, datetime | None, ResourceRecords]
        ] = {}

    def get(
        self, uid: str, history_limit: int, since: datetime, changes: RecordChanges
    ) -> ResourceRecords | None:
        entry = self._kept.get((uid, history_limit))
        if entry is None:
            return None
        snapshot, read_since, oldest, records = entry
        if (
            read_since <= since
            and (oldest is None or since <= oldest)
            and changes.unchanged(uid, snapshot)
        ):
            return records
        return None

    def keep(
        self,
        uid: str,
        history_limit: int,
        since: datetime,
        oldest: datetime | None,
        snapshot: int,
        records: ResourceRecords,
    ) -> None:
        key = (uid, history_limit)
        self._kept.pop(key, None)  # re-inserted as the newest
        self._kept[key] = (snapshot, since, oldest, records)
        if len(self._kept) > self._capacity:
            del self._kept[next(iter(self._kept))]

    def __len__(self) -> int:
        return len(self._kept)


def _history(row: tables.ChangeHistory) -> HistoryEntry:
    return HistoryEntry(
        generation=row.generation,
        spec=row.spec,
        patch=row.patch,
        actor=row.actor,
        source=row.source,
        created_at=row.created_at,
        rolled_back_to=row.rolled_back_to,
    )


def _annotation(row: tables.Annotation) -> AnnotationEntry:
    return AnnotationEntry(id=row.id, author=row.author, body=row.body, created_at=row.created_at)
