"""The detail view: one object from the cluster joined with its database rows.

The seed's GetResourceDetail, with its two sides fetched in parallel. The database is
keyed by the object's UID, which the cache already knows (a UID never changes), so the
database queries start at the same time as the cluster read that makes the object
read-your-writes fresh. If the cache has never seen the object — or the fresh read
shows it was deleted and re-created under the same name — the database side is
fetched (again) with the UID the cluster returned.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio

from kubeweft.views.errors import ResourceNotFound
from kubeweft.views.health import HealthInputs, health_score
from kubeweft.views.reader import ClusterReader
from kubeweft.views.records import (
    AnnotationEntry,
    HistoryEntry,
    MetricAggregate,
    RecordSource,
    ResourceRecords,
)

__all__ = ["DETAIL_HISTORY_LIMIT", "DETAIL_METRICS_WINDOW", "DetailView", "get_detail", "score_of"]

DETAIL_HISTORY_LIMIT = 10
DETAIL_METRICS_WINDOW = timedelta(minutes=5)


@dataclass(frozen=True)
class DetailView:
    obj: Any  # the custom resource, as the cluster has it
    history: list[HistoryEntry]
    metrics: dict[str, MetricAggregate]
    annotations: list[AnnotationEntry]
    health_score: int
    reconcile_error_rate: float | None
    #: A project's own members of the body (``views.detail_fields``), in wire form.
    fields: Mapping[str, Any] = field(default_factory=dict)


def score_of(obj: Any, reconcile_error_rate: float | None) -> int:
    """The health score of an object; models without replicas count as one wanted replica."""
    spec = getattr(obj, "spec", None)
    status = getattr(obj, "status", None)
    conditions = [
        (str(c.type), str(getattr(c.status, "value", c.status)))
        for c in getattr(status, "conditions", None) or ()
    ]
    desired = int(getattr(spec, "replicas", 1) or 0)
    ready_default = desired if dict(conditions).get("Ready") == "True" else 0
    ready = int(getattr(status, "ready_replicas", ready_default) or 0)
    return health_score(HealthInputs.from_parts(desired, ready, conditions, reconcile_error_rate))


async def get_detail(
    model: type[Any],
    namespace: str | None,
    name: str,
    *,
    cluster: ClusterReader,
    records: RecordSource,
    now: datetime | None = None,
    history_limit: int = DETAIL_HISTORY_LIMIT,
    window: timedelta = DETAIL_METRICS_WINDOW,
) -> DetailView:
    """The joined view of ``namespace/name``; ResourceNotFound / DatabaseUnavailable on failure."""
    since = (now or datetime.now(UTC)) - window
    uid_hint = cluster.peek_uid(model, namespace, name)
    obj: Any = None
    rows: ResourceRecords | None = None

    async def read_cluster() -> None:
        nonlocal obj
        obj = await cluster.get(model, namespace, name)

    async def read_database(uid: str) -> None:
        nonlocal rows
        rows = await records.resource_records(uid, history_limit=history_limit, since=since)

    # A source that keeps rows (``RepositorySource.kept_records``) may have them now:
    # then only the cluster is read, without a task group around it.
    kept = getattr(records, "kept_records", None)
    if uid_hint is not None and kept is not None:
        rows = kept(uid_hint, history_limit=history_limit, since=since)
    if uid_hint is None or rows is not None:
        await read_cluster()
    else:
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(read_cluster)
                tg.start_soon(read_database, uid_hint)
        except BaseExceptionGroup as group:
            raise _decisive(group) from None
    uid = obj.metadata.uid
    if rows is None or uid != uid_hint:
        await read_database(uid)
    assert rows is not None
    return build_detail(obj, rows)


def _decisive(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The error the caller should see when both sides failed: a missing object (404)
    outranks a failing database (500), as in the seed's sequential version."""
    leaves: list[BaseException] = []
    pending: list[BaseException] = [group]
    while pending:
        exc = pending.pop()
        if isinstance(exc, BaseExceptionGroup):
            pending.extend(exc.exceptions)
        else:
            leaves.append(exc)
    for exc in leaves:
        if isinstance(exc, ResourceNotFound):
            return exc
    return leaves[0]


def build_detail(obj: Any, rows: ResourceRecords) -> DetailView:
    return DetailView(
        obj=obj,
        history=rows.history,
        metrics=rows.metrics,
        annotations=rows.annotations,
        health_score=score_of(obj, rows.reconcile_error_rate),
        reconcile_error_rate=rows.reconcile_error_rate,
    )
