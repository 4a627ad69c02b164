"""Metric samples: the time series per UID, its latest values, aggregates and retention.

``latest_metrics`` answers "newest value of each metric for these N resources" — the
list page's question — against ``metric_latest`` (a primary-key lookup, independent of
how long the series is), one statement per ``_batch.IN_BATCH`` UIDs.
``metric_aggregates`` answers the detail page's "latest/min/max/avg/count per metric
since T" in one statement over ranges of the (uid, name, ts) index, one per name.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Integer, cast, delete, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from kubeweft.db import records
from kubeweft.db.tables import METRIC_NAME_LENGTH, MetricLatest, MetricSampleRow
from kubeweft.repositories import _batch, _prune, _validate
from kubeweft.repositories.errors import ValidationError


@dataclass(frozen=True, slots=True)
class Sample:
    """A point of a series as read back: (ts, value); the metric name is the dict key."""

    ts: datetime
    value: float


@dataclass(frozen=True, slots=True)
class MetricAggregate:
    name: str
    latest: float
    latest_ts: datetime
    min: float
    max: float
    avg: float
    count: int


async def record_samples(session: AsyncSession, samples: Sequence[records.MetricSample]) -> None:
    for sample in samples:
        _validate.uid(sample.uid)
        _validate.text(sample.name, "name", max_length=METRIC_NAME_LENGTH)
    await records.write_samples(session, samples)


async def latest_metrics(
    session: AsyncSession, uids: Iterable[str]
) -> dict[str, dict[str, Sample]]:
    """``{uid: {metric name: newest Sample}}`` for every requested UID.

    One statement per ``_batch.IN_BATCH`` UIDs (a list page of up to that many is one
    statement). A UID with no samples maps to an empty dict.
    """
    wanted = _validate.uids(uids)
    result: dict[str, dict[str, Sample]] = {uid: {} for uid in wanted}
    columns = (MetricLatest.uid, MetricLatest.name, MetricLatest.ts, MetricLatest.value)
    for batch in _batch.batches(wanted):
        stmt = select(*columns).where(MetricLatest.uid.in_(batch))
        for uid, name, ts, value in (await session.execute(stmt)).all():
            result[uid][name] = Sample(ts=ts, value=value)
    return result


async def metric_series(
    session: AsyncSession,
    uid: str,
    *,
    since: datetime,
    until: datetime | None = None,
    names: Sequence[str] | None = None,
    limit: int = 10_000,
) -> dict[str, list[Sample]]:
    """``{name: [Sample, …oldest first]}`` for one resource over ``[since, until)``."""
    uid = _validate.uid(uid)
    stmt = select(MetricSampleRow.name, MetricSampleRow.ts, MetricSampleRow.value).where(
        MetricSampleRow.uid == uid, MetricSampleRow.ts >= _validate.aware(since, "since")
    )
    if until is not None:
        stmt = stmt.where(MetricSampleRow.ts < _validate.aware(until, "until"))
    if names is not None:
        stmt = stmt.where(MetricSampleRow.name.in_(list(names)))
    stmt = stmt.order_by(MetricSampleRow.name, MetricSampleRow.ts)
    series: dict[str, list[Sample]] = {}
    rows = await session.execute(stmt.limit(_validate.positive(limit, "limit")))
    for name, ts, value in rows.all():
        series.setdefault(name, []).append(Sample(ts=ts, value=value))
    return series


@dataclass(frozen=True, slots=True)
class Bucket:
    """One slice of a window: the samples of a metric in ``[start, start + width)``."""

    index: int
    min: float
    max: float
    avg: float
    count: int


async def metric_buckets(
    session: AsyncSession, uid: str, *, since: datetime, until: datetime, buckets: int
) -> dict[str, list[Bucket]]:
    """``{name: [Bucket, …by index]}`` of one resource's samples in ``[since, until)``,
    cut into ``buckets`` equal slices — one statement, grouped in the database.

    What a chart of a window needs: at most ``buckets`` rows per metric however many
    samples the window holds (a week of a busy series is thousands), read over the
    range ``(uid, ts >= since)`` of the (uid, name, ts) index. A slice without samples
    is absent (samples record changes: the value held since the previous one).
    """
    uid = _validate.uid(uid)
    since = _validate.aware(since, "since")
    until = _validate.aware(until, "until")
    count = _validate.positive(buckets, "buckets")
    width = (until - since).total_seconds() / count
    if width <= 0:
        raise ValidationError("until", "must be after since")
    samples = MetricSampleRow.__table__.alias("s")
    if session.get_bind().dialect.name == "sqlite":
        # Stored as naive UTC text; julianday reads it as a double of days, good to tens
        # of microseconds: rounded to whole milliseconds, a sample on a slice's boundary
        # falls into the later slice as on PostgreSQL. The offset is never negative
        # (ts >= since), so truncating is flooring.
        start = since.astimezone(UTC).replace(tzinfo=None)
        millis = func.round((func.julianday(samples.c.ts) - func.julianday(start)) * 86_400_000.0)
        index = cast(millis / (width * 1000.0), Integer)
    else:
        offset = func.extract("epoch", samples.c.ts - since)
        index = cast(func.floor(offset / width), Integer)
    slot = index.label("slot")
    stmt = (
        select(
            samples.c.name,
            slot,
            func.min(samples.c.value),
            func.max(samples.c.value),
            func.avg(samples.c.value),
            func.count(),
        )
        .where(samples.c.uid == uid, samples.c.ts >= since, samples.c.ts < until)
        .group_by(samples.c.name, slot)
        .order_by(samples.c.name, slot)
    )
    series: dict[str, list[Bucket]] = {}
    for name, at, low, high, mean, n in (await session.execute(stmt)).all():
        bucket = Bucket(min(int(at), count - 1), float(low), float(high), float(mean), int(n))
        series.setdefault(name, []).append(bucket)
    return series


async def metric_aggregates(
    session: AsyncSession, uid: str, since: datetime
) -> dict[str, MetricAggregate]:
    """Per metric name since ``since``: latest value, min, max, avg and count — one statement.

    The names come from ``metric_latest`` (a name whose newest sample is older than
    ``since`` has nothing in the window), and each figure is a subquery over the range
    ``(uid, name, ts >= since)`` of the (uid, name, ts) index: the cost follows the
    window, not how much history is retained, whatever plan the database prefers.
    """
    uid = _validate.uid(uid)
    since = _validate.aware(since, "since")
    names = MetricLatest.__table__.alias("n")
    samples = MetricSampleRow.__table__.alias("s")
    window = (samples.c.uid == uid, samples.c.name == names.c.name, samples.c.ts >= since)

    def of_window(*columns: Any) -> Any:
        return select(*columns).where(*window)

    latest_value = (
        of_window(samples.c.value)
        .order_by(samples.c.ts.desc(), samples.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    stmt = select(
        names.c.name,
        latest_value,
        of_window(func.max(samples.c.ts)).scalar_subquery(),
        of_window(func.min(samples.c.value)).scalar_subquery(),
        of_window(func.max(samples.c.value)).scalar_subquery(),
        of_window(func.avg(samples.c.value)).scalar_subquery(),
        of_window(func.count()).scalar_subquery(),
    ).where(names.c.uid == uid, names.c.ts >= since)
    result: dict[str, MetricAggregate] = {}
    for name, latest, latest_ts, low, high, mean, count in (await session.execute(stmt)).all():
        if not count:  # pruned meanwhile
            continue
        result[name] = MetricAggregate(
            name=name,
            latest=float(latest),
            latest_ts=latest_ts,
            min=float(low),
            max=float(high),
            avg=float(mean),
            count=int(count),
        )
    return result


async def delete_metrics(session: AsyncSession, uid: str) -> int:
    """Forget a resource's series and latest values; returns how many samples went."""
    uid = _validate.uid(uid)
    await session.execute(delete(MetricLatest).where(MetricLatest.uid == uid))
    result = await session.execute(delete(MetricSampleRow).where(MetricSampleRow.uid == uid))
    return int(result.rowcount)  # type: ignore[attr-defined]


async def prune_metric_samples(
    session: AsyncSession, older_than: datetime, *, limit: int | None = None
) -> int:
    """Delete samples older than ``older_than`` (the oldest ``limit``); returns how many.

    Without ``limit`` the latest values that old go too (see :func:`prune_metric_latest`).
    """
    if limit is None:
        await prune_metric_latest(session, older_than)
    return await _prune.delete_older(
        session, MetricSampleRow.ts, MetricSampleRow.id, older_than, limit=limit
    )


async def prune_metric_latest(
    session: AsyncSession, older_than: datetime, *, limit: int | None = None
) -> int:
    """Delete latest values older than ``older_than``: a resource gone that long (or one
    that stopped reporting) should not show a stale value; returns how many."""
    cutoff = _validate.aware(older_than, "older_than")
    stale = MetricLatest.ts < cutoff
    if limit is not None:
        oldest = select(MetricLatest.uid, MetricLatest.name).where(stale).order_by(MetricLatest.ts)
        stale = tuple_(MetricLatest.uid, MetricLatest.name).in_(
            oldest.limit(_validate.positive(limit, "limit"))
        )
    result = await session.execute(delete(MetricLatest).where(stale))
    return int(result.rowcount)  # type: ignore[attr-defined]
