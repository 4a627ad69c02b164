"""The database side of a view: what the join needs, as plain values.

Views ask for a resource's rows through :class:`RecordSource` — two calls, each one
batched query set — so the join layer does not care how the repositories are
organised, and a unit test can hand it rows without a database. The implementation
over kubeweft's repositories is :class:`kubeweft.views.repository_source.RepositorySource`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

__all__ = [
    "AnnotationEntry",
    "AuditEntry",
    "HistoryEntry",
    "MetricAggregate",
    "MetricBucket",
    "MetricPoint",
    "MetricSeriesPoint",
    "RecordSource",
    "RecordStore",
    "ResourceRecords",
    "ResourceRef",
]


@dataclass(frozen=True)
class HistoryEntry:
    generation: int
    #: The spec of this generation (wire form) and the RFC 6902 patch from the previous.
    spec: dict[str, Any]
    patch: list[Any] | None
    actor: str | None
    source: str
    created_at: datetime
    #: Set when this generation was a rollback: the generation whose spec it wrote back.
    rolled_back_to: int | None = None


@dataclass(frozen=True)
class MetricPoint:
    value: float
    ts: datetime


@dataclass(frozen=True)
class MetricAggregate:
    latest: float
    min: float
    max: float
    avg: float
    count: int
    latest_at: datetime


@dataclass(frozen=True)
class MetricBucket:
    """A metric's samples in one slice of a window (a chart's point): ``index`` counts
    slices from the window's start."""

    index: int
    min: float
    max: float
    avg: float
    count: int


@dataclass(frozen=True)
class MetricSeriesPoint:
    name: str
    value: float
    ts: datetime


@dataclass(frozen=True)
class ResourceRef:
    """Which object a row belongs to: the UID joins, the rest is for humans."""

    uid: str
    kind: str
    namespace: str
    name: str


@dataclass(frozen=True)
class AuditEntry:
    """One REST request that changed something (or tried to)."""

    actor: str
    verb: str
    kind: str
    namespace: str | None
    name: str | None
    uid: str | None
    outcome: str  # "success" or "failure"
    status_code: int
    request_id: str | None = None


@dataclass(frozen=True)
class AnnotationEntry:
    id: int
    author: str
    body: str
    created_at: datetime


@dataclass(frozen=True)
class ResourceRecords:
    """Everything the database knows about one UID that the detail view shows."""

    history: list[HistoryEntry] = field(default_factory=list)
    metrics: dict[str, MetricAggregate] = field(default_factory=dict)
    annotations: list[AnnotationEntry] = field(default_factory=list)
    # Failed / total reconcile attempts since the window start; None without attempts.
    reconcile_error_rate: float | None = None


class RecordSource(Protocol):
    """Database reads of the join layer. Failures raise ``DatabaseUnavailable``."""

    async def resource_records(
        self, uid: str, *, history_limit: int, since: datetime
    ) -> ResourceRecords: ...

    async def latest_metrics(self, uids: Sequence[str]) -> Mapping[str, Mapping[str, MetricPoint]]:
        """Newest sample per metric name for each UID, in one query for all of them.

        The mappings are read-only: a source may hand out the same one again while a
        UID's samples are unchanged."""
        ...


class RecordStore(RecordSource, Protocol):
    """All database access of the web system: the join reads plus the sub-resources.

    Reads raise ``DatabaseUnavailable`` when the database fails.
    """

    async def history(self, uid: str, *, limit: int) -> list[HistoryEntry]: ...

    async def history_entry(self, uid: str, generation: int) -> HistoryEntry | None:
        """One generation of ``uid``'s history, or None when it is not recorded."""
        ...

    async def metric_buckets(
        self, uid: str, *, since: datetime, until: datetime, buckets: int
    ) -> dict[str, list[MetricBucket]]:
        """Each metric's samples in ``[since, until)`` cut into ``buckets`` slices (one
        statement); a slice without samples is left out."""
        ...

    async def metric_series(
        self, uid: str, *, since: datetime, name: str | None
    ) -> list[MetricSeriesPoint]: ...

    async def annotations(self, uid: str) -> list[AnnotationEntry]: ...

    async def add_annotation(
        self, ref: ResourceRef, *, author: str, body: str
    ) -> AnnotationEntry: ...

    async def delete_annotation(self, uid: str, annotation_id: int) -> bool:
        """True if the annotation existed (and belonged to ``uid``)."""
        ...

    async def audit(self, entry: AuditEntry) -> None: ...
