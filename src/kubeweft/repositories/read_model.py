"""The detail view's read model: everything one resource's detail shows, in one statement.

The detail page needs four answers about one UID — its latest history rows, the metric
aggregates of the last minutes, its annotations and its recent reconcile outcomes.
Asked as four ORM queries they cost four round trips, four thread hand-offs each on
aiosqlite, and the ORM's per-statement bookkeeping, which together dominated the page.
Here the four are one ``UNION ALL`` statement sent on the driver's own connection
(aiosqlite: one thread hop; asyncpg: one prepared statement), and the rows come back as
tuples that are turned into values directly.

The metric part bounds time, not only the UID: the names come from ``metric_latest``
(one primary-key range) and each figure of a name is read from the range
``(uid, name, ts >= since)`` of the ``(uid, name, ts)`` index, so the cost follows the
window, never the retained history
(``metrics.metric_aggregates`` has the same shape).

It also says when the window's figures would change without any write: the oldest
sample and reconcile attempt they counted (``DetailRows.window_oldest``) leave the
window when ``since`` passes them, so a caller that keeps the rows knows exactly how
long they hold (``views.repository_source``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import groupby
from operator import itemgetter
from typing import Any

import orjson

from kubeweft.db.engine import Database
from kubeweft.repositories import _validate

__all__ = [
    "STATEMENTS",
    "AggregateRow",
    "AnnotationRow",
    "DetailRows",
    "HistoryRow",
    "SampleRows",
    "decode_samples",
    "detail_rows",
    "latest_sample_rows",
]


@dataclass(frozen=True, slots=True)
class HistoryRow:
    generation: int
    spec: dict[str, Any]
    patch: list[Any] | None
    actor: str | None
    source: str
    created_at: datetime
    rolled_back_to: int | None = None


@dataclass(frozen=True, slots=True)
class AggregateRow:
    latest: float
    min: float
    max: float
    avg: float
    count: int
    latest_at: datetime


@dataclass(frozen=True, slots=True)
class AnnotationRow:
    id: int
    author: str
    body: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DetailRows:
    history: list[HistoryRow]  # newest generation first
    metrics: dict[str, AggregateRow]
    annotations: list[AnnotationRow]  # newest first
    attempts: int  # reconcile attempts since the window start (at most the sample size)
    failures: int  # ... of which ended in an error
    #: The oldest sample or attempt the window's figures counted (None: none): the
    #: figures stay what they are, without any write, while ``since <= window_oldest``.
    window_oldest: datetime | None = None


_HISTORY, _METRIC, _ANNOTATION, _ATTEMPTS = 0, 1, 2, 3

# Columns of every branch: part, number, text1, text2, text3, text4, f1..f4, ts, oldest.
#   history:    generation, actor, source, spec, patch, rolled_back_to, created_at
#   metric:     count, name,            latest, min, max, avg,     max(ts), min(ts)
#   annotation: id, author, body,                                  created_at
#   attempts:   count(*),               failures,                       min(started_at)
_TEMPLATE = """
SELECT {h} AS part, h.generation AS num, h.actor AS t1, h.source AS t2,
       {spec} AS t3, {patch} AS t4,
       CAST(h.rolled_back_to AS {real}) AS f1, CAST(NULL AS {real}) AS f2,
       CAST(NULL AS {real}) AS f3, CAST(NULL AS {real}) AS f4, h.created_at AS ts,
       {no_ts} AS oldest
FROM (SELECT generation, actor, source, spec, patch, rolled_back_to, created_at
      FROM change_history
      WHERE uid = {uid} ORDER BY generation DESC LIMIT {history_limit}) AS h
UNION ALL
SELECT {m}, (SELECT count(*) {of_window}), l.name, NULL, NULL, NULL,
       (SELECT i.value {of_window} ORDER BY i.ts DESC, i.id DESC LIMIT 1),
       (SELECT min(i.value) {of_window}), (SELECT max(i.value) {of_window}),
       (SELECT avg(i.value) {of_window}), (SELECT max(i.ts) {of_window}),
       (SELECT min(i.ts) {of_window})
FROM metric_latest AS l
WHERE l.uid = {uid} AND l.ts >= {since}
UNION ALL
SELECT {a}, a.id, a.author, a.body, NULL, NULL, NULL, NULL, NULL, NULL, a.created_at, NULL
FROM (SELECT id, author, body, created_at FROM annotations
      WHERE uid = {uid} ORDER BY created_at DESC, id DESC LIMIT {annotation_limit}) AS a
UNION ALL
SELECT {r}, count(*), NULL, NULL, NULL, NULL,
       CAST(sum(CASE WHEN r.outcome = 'error' THEN 1 ELSE 0 END) AS {real}),
       NULL, NULL, NULL, NULL, min(r.started_at)
FROM (SELECT outcome, started_at FROM reconcile_log WHERE uid = {uid} AND started_at >= {since}
      ORDER BY started_at DESC, id DESC LIMIT {attempt_limit}) AS r
"""


# Each figure of a metric is a subquery over the window of one (uid, name): SQLite reads
# it as a range of the (uid, name, ts) index. PostgreSQL may still take the ts index for
# a window past its statistics (bounded by the window, not by retention; see
# docs/design/performance.md).
_OF_WINDOW = "FROM metric_samples AS i WHERE i.uid = {uid} AND i.name = l.name AND i.ts >= {since}"


def _statement(dialect: str) -> str:
    if dialect == "postgresql":
        return _format(
            uid="$1",
            since="$2",
            history_limit="$3",
            annotation_limit="$4",
            attempt_limit="$5",
            spec="h.spec::text",
            patch="h.patch::text",
            real="double precision",
            no_ts="CAST(NULL AS timestamptz)",
        )
    return _format(
        uid=":uid",
        since=":since",
        history_limit=":history_limit",
        annotation_limit=":annotation_limit",
        attempt_limit=":attempt_limit",
        spec="h.spec",
        patch="h.patch",
        real="REAL",
        no_ts="NULL",
    )


def _format(**dialect_parts: str) -> str:
    """The statement with one dialect's parameter markers, casts and real type."""
    of_window = _OF_WINDOW.format(uid=dialect_parts["uid"], since=dialect_parts["since"])
    return _TEMPLATE.format(
        h=_HISTORY, m=_METRIC, a=_ANNOTATION, r=_ATTEMPTS, of_window=of_window, **dialect_parts
    )


STATEMENTS = {dialect: _statement(dialect) for dialect in ("postgresql", "sqlite")}

# SQLAlchemy's storage format for a DateTime on SQLite (UTC, offset dropped), so a
# bound ``since`` compares as the stored text does.
_SQLITE_TS = "%Y-%m-%d %H:%M:%S.%f"


def _ts(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def _json(value: Any) -> Any:
    return None if value is None else orjson.loads(value)


async def detail_rows(
    database: Database,
    uid: str,
    *,
    since: datetime,
    history_limit: int,
    annotation_limit: int = 100,
    attempt_limit: int = 100,
) -> DetailRows:
    """The rows of ``uid``'s detail view; ``since`` starts the metric and error-rate window."""
    uid = _validate.uid(uid)
    since = _validate.aware(since, "since").astimezone(UTC)
    limits = (
        _validate.positive(history_limit, "history_limit"),
        _validate.positive(annotation_limit, "annotation_limit"),
        _validate.positive(attempt_limit, "attempt_limit"),
    )
    dialect = database.dialect
    async with database.driver_connection() as driver:
        if dialect == "postgresql":
            rows = await driver.fetch(STATEMENTS[dialect], uid, since, *limits)
        else:
            params = {
                "uid": uid,
                "since": since.strftime(_SQLITE_TS),
                "history_limit": limits[0],
                "annotation_limit": limits[1],
                "attempt_limit": limits[2],
            }
            rows = await driver.execute_fetchall(STATEMENTS["sqlite"], params)
    return _assemble(rows)


def _assemble(rows: Any) -> DetailRows:
    history: list[HistoryRow] = []
    metrics: dict[str, AggregateRow] = {}
    annotations: list[AnnotationRow] = []
    attempts = failures = 0
    oldest: datetime | None = None
    for part, num, t1, t2, t3, t4, f1, f2, f3, f4, ts, first in rows:
        if part == _HISTORY:
            target = int(f1) if f1 is not None else None
            history.append(HistoryRow(int(num), _json(t3), _json(t4), t1, t2, _ts(ts), target))
        elif part == _METRIC:
            if not num:  # its samples were pruned meanwhile
                continue
            metrics[t1] = AggregateRow(
                float(f1), float(f2), float(f3), float(f4), int(num), _ts(ts)
            )
            oldest = _earlier(oldest, first)
        elif part == _ANNOTATION:
            annotations.append(AnnotationRow(int(num), t1, t2, _ts(ts)))
        else:
            attempts, failures = int(num), int(f1 or 0)
            oldest = _earlier(oldest, first)
    # UNION ALL keeps no order between (or within) its branches.
    history.sort(key=lambda h: h.generation, reverse=True)
    annotations.sort(key=lambda a: (a.created_at, a.id), reverse=True)
    return DetailRows(history, metrics, annotations, attempts, failures, oldest)


def _earlier(oldest: datetime | None, value: Any) -> datetime | None:
    if value is None:
        return oldest
    ts = _ts(value)
    return ts if oldest is None or ts < oldest else oldest


#: One UID's ``metric_latest`` rows as the driver returned them, ``(uid, name, value,
#: ts)`` in name order. Equal rows are equal samples, so a caller may keep what it derived
#: from them and compare the rows instead of decoding them again (``decode_samples``).
SampleRows = tuple[Any, ...]


async def latest_sample_rows(database: Database, uids: Iterable[str]) -> dict[str, SampleRows]:
    """Each UID's ``metric_latest`` rows, undecoded, for a list page.

    One statement for the whole page, whatever its size: the UIDs are one bound
    parameter (a PostgreSQL array; a JSON array that SQLite's ``json_each`` unpacks), so
    no batching under SQLite's parameter limit is needed. Sent as SQL text on a
    connection (no ORM session, no per-row type processing), ordered by the primary key
    so each UID's rows arrive together and in name order. A page of 1,000 objects reads
    3,000 rows, and turning their timestamps into datetimes was most of the page's cost:
    here nothing is converted, and a caller that kept the samples of equal rows
    (``views.repository_source``) converts only the rows that changed. Every requested
    UID is a key, with no rows when it has no samples.
    """
    # The UIDs are bound parameters, taken from the cache: deduplicated, not re-parsed.
    wanted = list(dict.fromkeys(uids))
    result: dict[str, SampleRows] = dict.fromkeys(wanted, ())
    if not wanted:
        return result
    async with database.engine.connect() as conn:
        found = await conn.exec_driver_sql(*_latest_statement(database.dialect, wanted))
        # The driver's own rows (tuples, asyncpg Records), already fetched by SQLAlchemy's
        # async adapter: building a Row around each of them cost more than the statement,
        # and comparing Rows is a Python call per row where tuples compare in C.
        rows: Sequence[Any] = found.cursor.fetchall()
        found.close()
    for uid, group in groupby(rows, itemgetter(0)):
        result[uid] = tuple(group)
    return result


def decode_samples(rows: SampleRows) -> dict[str, tuple[float, datetime]]:
    """``{metric name: (value, ts)}`` of one UID's rows (``latest_sample_rows``)."""
    return {name: (float(value), _ts(ts)) for _, name, value, ts in rows}


def _latest_statement(dialect: str, uids: list[str]) -> tuple[str, tuple[Any, ...]]:
    columns = "SELECT uid, name, value, ts FROM metric_latest"
    order = "ORDER BY uid, name"
    if dialect == "postgresql":
        return f"{columns} WHERE uid = ANY($1::varchar[]) {order}", (uids,)
    return (
        f"{columns} WHERE uid IN (SELECT value FROM json_each(?)) {order}",
        (orjson.dumps(uids).decode(),),
    )
