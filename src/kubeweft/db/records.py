"""The reconciler's records and the statements that store them.

The framework and the reconciler hand the database three kinds of facts: a generation
of a resource's spec (``HistoryRecord``), a reconcile attempt (``ReconcileRecord``) and
a metric sample (``MetricSample``). They are frozen values, checked when built, so a
bad record fails in the reconciler's own stack rather than poisoning the writer's batch
later.

``write_records`` is the one place these rows are inserted, used both by the buffered
``RecordWriter`` and by the repositories. History inserts ignore a row whose
(uid, generation) already exists, so a retried batch or a restarted operator never
records a generation twice; each history row gets the RFC 6902 patch from the spec of
the newest generation stored before it, and each metric sample moves
``metric_latest`` forward. Each write also names the UIDs it touched to other
processes, in the same transaction (``changes.notify``: a PostgreSQL NOTIFY, delivered
at commit).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Literal, cast

import jsonpatch
from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from kubeweft.db import changes
from kubeweft.db.tables import (
    HISTORY_SOURCES,
    RECONCILE_OUTCOMES,
    ChangeHistory,
    MetricLatest,
    MetricSampleRow,
    ReconcileLog,
)
from kubeweft.db.types import utcnow

Source = Literal["api", "reconciler"]
Outcome = Literal["success", "requeue", "error"]


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _require_aware(name: str, value: datetime) -> None:
    _require(value.tzinfo is not None and value.utcoffset() is not None, f"{name} must be aware")


@dataclass(frozen=True, slots=True)
class HistoryRecord:
    """The spec a resource had at ``generation`` (its wire form), and who set it."""

    uid: str
    namespace: str
    name: str
    kind: str
    generation: int
    spec: dict[str, Any]
    actor: str | None = None
    source: Source = "reconciler"
    created_at: datetime = field(default_factory=utcnow)
    #: Set when this generation was a rollback: the generation whose spec it wrote back.
    rolled_back_to: int | None = None

    def __post_init__(self) -> None:
        _require(bool(self.uid), "HistoryRecord.uid must not be empty")
        _require(self.generation >= 0, "HistoryRecord.generation must be >= 0")
        _require(isinstance(self.spec, dict), "HistoryRecord.spec must be a JSON object")
        _require(self.source in HISTORY_SOURCES, f"HistoryRecord.source {self.source!r}")
        _require_aware("HistoryRecord.created_at", self.created_at)


@dataclass(frozen=True, slots=True)
class ReconcileRecord:
    """One reconcile attempt and how it ended."""

    uid: str
    namespace: str
    name: str
    kind: str
    started_at: datetime
    duration_s: float
    outcome: Outcome
    actions: tuple[str, ...] = ()
    error: str | None = None
    generation: int | None = None
    resource_version: str | None = None

    def __post_init__(self) -> None:
        _require(bool(self.uid), "ReconcileRecord.uid must not be empty")
        _require(self.outcome in RECONCILE_OUTCOMES, f"ReconcileRecord.outcome {self.outcome!r}")
        _require(self.duration_s >= 0, "ReconcileRecord.duration_s must be >= 0")
        _require_aware("ReconcileRecord.started_at", self.started_at)


@dataclass(frozen=True, slots=True)
class MetricSample:
    """One point of a resource's time series (``ready_replicas``, ``reconcile_seconds``…)."""

    uid: str
    name: str
    value: float
    ts: datetime = field(default_factory=utcnow)

    def __post_init__(self) -> None:
        _require(bool(self.uid), "MetricSample.uid must not be empty")
        _require(bool(self.name), "MetricSample.name must not be empty")
        _require_aware("MetricSample.ts", self.ts)


Record = HistoryRecord | ReconcileRecord | MetricSample

# Core tables: bulk inserts skip the ORM's per-row bookkeeping.
_HISTORY = cast(Table, ChangeHistory.__table__)
_RECONCILE_LOG = cast(Table, ReconcileLog.__table__)
_METRIC_SAMPLES = cast(Table, MetricSampleRow.__table__)
_METRIC_LATEST = cast(Table, MetricLatest.__table__)

# Rows per multi-row upsert (4 bound parameters each; far below every driver's limit).
_UPSERT_CHUNK = 500


def _row(record: Record) -> dict[str, Any]:
    """A record's columns (shallow; ``dataclasses.asdict`` deep-copies every value)."""
    return {f.name: getattr(record, f.name) for f in fields(record)}


def _dialect_insert(session: AsyncSession, table: Any) -> Any:
    # The dialect modules are imported here, where the engine has loaded its own: a
    # process on SQLite does not keep PostgreSQL's (≈ 2 MiB) resident, nor the reverse.
    name = session.get_bind().dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    if name == "sqlite":
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(table)
    raise ValueError(f"unsupported dialect {name!r}")


def spec_patch(before: dict[str, Any] | None, after: dict[str, Any]) -> list[Any] | None:
    """The RFC 6902 patch that turns ``before`` into ``after``; None without a ``before``."""
    if before is None:
        return None
    return list(jsonpatch.make_patch(before, after).patch)


async def _previous_spec(session: AsyncSession, uid: str, generation: int) -> dict[str, Any] | None:
    stmt = (
        select(_HISTORY.c.spec)
        .where(_HISTORY.c.uid == uid, _HISTORY.c.generation < generation)
        .order_by(_HISTORY.c.generation.desc())
        .limit(1)
    )
    spec: dict[str, Any] | None = (await session.execute(stmt)).scalar_one_or_none()
    return spec


async def write_history(session: AsyncSession, records: Sequence[HistoryRecord]) -> None:
    """Insert history rows, each with its patch from the previous generation stored; a
    (uid, generation) already stored is silently skipped.

    History is written once per generation, so the one read per record that finds the
    previous spec is cheap; records of one UID in the same batch diff against each other.
    """
    if not records:
        return
    rows: list[dict[str, Any]] = []
    previous: dict[str, tuple[int, dict[str, Any]]] = {}
    for record in sorted(records, key=lambda r: (r.uid, r.generation)):
        seen = previous.get(record.uid)
        if seen is not None and seen[0] < record.generation:
            before: dict[str, Any] | None = seen[1]
        else:
            before = await _previous_spec(session, record.uid, record.generation)
        rows.append({**_row(record), "patch": spec_patch(before, record.spec)})
        previous[record.uid] = (record.generation, record.spec)
    stmt = _dialect_insert(session, _HISTORY).on_conflict_do_nothing(
        index_elements=["uid", "generation"]
    )
    await session.execute(stmt, rows)
    await changes.notify(session, [r.uid for r in records])


async def write_reconciles(session: AsyncSession, records: Sequence[ReconcileRecord]) -> None:
    if not records:
        return
    rows = [{**_row(r), "actions": list(r.actions)} for r in records]
    await session.execute(insert(_RECONCILE_LOG), rows)
    await changes.notify(session, [r.uid for r in records])


async def write_samples(session: AsyncSession, samples: Sequence[MetricSample]) -> None:
    """Append samples to the series and move ``metric_latest`` forward (never back)."""
    if not samples:
        return
    await session.execute(insert(_METRIC_SAMPLES), [_row(s) for s in samples])
    newest: dict[tuple[str, str], MetricSample] = {}
    for s in samples:
        seen = newest.get((s.uid, s.name))
        if seen is None or s.ts >= seen.ts:
            newest[(s.uid, s.name)] = s
    # Sorted so concurrent writers take row locks in one order (no deadlocks).
    rows = [_row(newest[key]) for key in sorted(newest)]
    for start in range(0, len(rows), _UPSERT_CHUNK):
        stmt = _dialect_insert(session, _METRIC_LATEST).values(rows[start : start + _UPSERT_CHUNK])
        stmt = stmt.on_conflict_do_update(
            index_elements=["uid", "name"],
            set_={"ts": stmt.excluded.ts, "value": stmt.excluded.value},
            where=stmt.table.c.ts <= stmt.excluded.ts,
        )
        await session.execute(stmt)
    await changes.notify(session, [uid for uid, _ in newest])


async def write_records(session: AsyncSession, records: Iterable[Record]) -> None:
    """Store a mixed batch of records inside the caller's transaction."""
    history: list[HistoryRecord] = []
    reconciles: list[ReconcileRecord] = []
    samples: list[MetricSample] = []
    for record in records:
        if isinstance(record, HistoryRecord):
            history.append(record)
        elif isinstance(record, ReconcileRecord):
            reconciles.append(record)
        else:
            samples.append(record)
    await write_history(session, history)
    await write_reconciles(session, reconciles)
    await write_samples(session, samples)
