"""The join layer's database side over kubeweft's repositories.

One short session per call, and a fixed number of statements per call however many
rows or UIDs are involved (the detail view: one, from ``repositories.read_model``, sent
on the driver's connection; a list page: one, as SQL text, whose rows are decoded only
when they changed since the last page: ``LatestSamples``). Any driver or
connection failure becomes :class:`DatabaseUnavailable` (the seed's "DB query fails →
500"), one that ran out of time (the statement timeout, applied to the whole session)
:class:`DatabaseTimeout` (503); the driver's message is chained for the log, never
shown to a client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime
from types import MappingProxyType

from sqlalchemy.ext.asyncio import AsyncSession

from kubeweft.db import tables
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

__all__ = ["LatestSamples", "RepositorySource"]

# Enough attempts to make a rate meaningful, few enough to stay one cheap query.
ERROR_RATE_SAMPLE = 100


class RepositorySource:
    """A :class:`~kubeweft.views.records.RecordStore` backed by the database."""

    def __init__(self, database: Database, *, latest_capacity: int = 4096) -> None:
        self._database = database
        self._latest = LatestSamples(latest_capacity)

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

    async def resource_records(
        self, uid: str, *, history_limit: int, since: datetime
    ) -> ResourceRecords:
        with self._guard():
            rows = await read_model.detail_rows(
                self._database,
                uid,
                since=since,
                history_limit=history_limit,
                attempt_limit=ERROR_RATE_SAMPLE,
            )
        # The read model's rows have the views' shapes field for field.
        return ResourceRecords(
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

    async def latest_metrics(self, uids: Sequence[str]) -> dict[str, Mapping[str, MetricPoint]]:
        with self._guard():
            found = await read_model.latest_sample_rows(self._database, uids)
        kept = self._latest
        return {uid: kept.samples(uid, rows) for uid, rows in found.items()}

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
        return entry

    async def delete_annotation(self, uid: str, annotation_id: int) -> bool:
        try:
            async with self._session() as session:
                await annotation_rows.delete_annotation(session, annotation_id, uid=uid)
        except NotFoundError:
            return False
        return True

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
    """

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._kept: dict[str, tuple[read_model.SampleRows, Mapping[str, MetricPoint]]] = {}

    def samples(self, uid: str, rows: read_model.SampleRows) -> Mapping[str, MetricPoint]:
        if not rows:
            return _NO_SAMPLES
        kept = self._kept.get(uid)
        if kept is not None and kept[0] == rows:
            return kept[1]
        decoded = read_model.decode_samples(rows)
        points = MappingProxyType({name: MetricPoint(v, ts) for name, (v, ts) in decoded.items()})
        self._kept.pop(uid, None)  # re-inserted as the newest
        self._kept[uid] = (rows, points)
        if len(self._kept) > self._capacity:
            del self._kept[next(iter(self._kept))]
        return points

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
