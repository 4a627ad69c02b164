"""In-memory fakes of kubeweft's OWN interfaces (client, cache, record store), for unit
tests of the REST layer only. Integration tests use the real control plane and database.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kubeweft.runtime import errors as kube_errors
from kubeweft.runtime.labels import LabelSelector
from kubeweft.runtime.objects import kind_info
from kubeweft.views.errors import DatabaseUnavailable
from kubeweft.views.records import (
    AnnotationEntry,
    AuditEntry,
    HistoryEntry,
    MetricPoint,
    MetricSeriesPoint,
    ResourceRecords,
    ResourceRef,
)


@dataclass
class ListResult:
    items: list[Any]


class FakeKube:
    """A client and a cache over one dict; ``lag`` makes the cache miss writes."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str | None, str], Any] = {}
        self.cache_view: dict[tuple[str, str | None, str], Any] = {}
        self.rv = itertools.count(100)
        self.lag = False
        self.conflicts_to_inject = 0
        self.events: list[Any] = []
        self.updates = 0

    def _key(
        self, kind: type[Any], name: str, namespace: str | None
    ) -> tuple[str, str | None, str]:
        return (kind_info(kind).plural, namespace, name)

    def _publish(self) -> None:
        if not self.lag:
            self.cache_view = dict(self.objects)

    # --- client ---------------------------------------------------------------
    async def get(self, kind: type[Any], name: str, namespace: str | None = None) -> Any:
        obj = self.objects.get(self._key(kind, name, namespace))
        if obj is None:
            raise kube_errors.NotFound(404, "NotFound", f"{name} not found")
        return obj.model_copy(deep=True)

    async def create(self, obj: Any, *, dry_run: bool = False) -> Any:
        key = self._key(type(obj), obj.metadata.name, obj.metadata.namespace)
        if key in self.objects:
            raise kube_errors.AlreadyExists(409, "AlreadyExists", "exists")
        new = obj.model_copy(deep=True)
        new.metadata.uid = str(uuid.uuid4())
        new.metadata.resourceVersion = str(next(self.rv))
        new.metadata.generation = 1
        new.metadata.creationTimestamp = datetime.now(UTC)
        self.objects[key] = new
        self._publish()
        return new.model_copy(deep=True)

    async def update(self, obj: Any) -> Any:
        key = self._key(type(obj), obj.metadata.name, obj.metadata.namespace)
        current = self.objects.get(key)
        if current is None:
            raise kube_errors.NotFound(404, "NotFound", "gone")
        if self.conflicts_to_inject > 0:
            self.conflicts_to_inject -= 1
            # Someone else wrote in between.
            current.metadata.resourceVersion = str(next(self.rv))
            raise kube_errors.Conflict(409, "Conflict", "stale")
        if obj.metadata.resourceVersion != current.metadata.resourceVersion:
            raise kube_errors.Conflict(409, "Conflict", "stale")
        new = obj.model_copy(deep=True)
        new.metadata.resourceVersion = str(next(self.rv))
        if new.spec != current.spec:
            new.metadata.generation = (current.metadata.generation or 1) + 1
        self.objects[key] = new
        self.updates += 1
        self._publish()
        return new.model_copy(deep=True)

    async def delete(self, kind: type[Any], name: str, namespace: str | None = None) -> None:
        key = self._key(kind, name, namespace)
        if key not in self.objects:
            raise kube_errors.NotFound(404, "NotFound", "gone")
        del self.objects[key]
        self._publish()

    async def list(self, kind: type[Any], namespace: str | None = None, **_: Any) -> ListResult:
        return ListResult(list(self.events))

    # --- cache ----------------------------------------------------------------
    def cache_get(self, kind: type[Any], name: str, namespace: str | None = None) -> Any:
        return self.cache_view.get(self._key(kind, name, namespace))

    def cache_list(
        self, kind: type[Any], namespace: str | None = None, *, label_selector: str | None = None
    ) -> list[Any]:
        plural = kind_info(kind).plural
        selector = LabelSelector.of(label_selector)
        return [
            obj
            for (p, ns, _), obj in self.cache_view.items()
            if p == plural
            and (namespace is None or ns == namespace)
            and selector.matches(obj.metadata.labels or {})
        ]

    async def wait_for_resource_version(self, kind: type[Any], rv: str, timeout: float) -> bool:  # noqa: ASYNC109
        return not self.lag


class FakeInformer:
    def __init__(self, kube: FakeKube, kind: type[Any]) -> None:
        self.kube, self.kind = kube, kind

    def get(self, namespace: str | None, name: str) -> Any | None:
        return self.kube.cache_get(self.kind, name, namespace)

    def list(self, namespace: str | None = None, label_selector: str | None = None) -> list[Any]:
        return self.kube.cache_list(self.kind, namespace, label_selector=label_selector)

    def has_synced(self) -> bool:
        return True


class FakeCache:
    def __init__(self, kube: FakeKube) -> None:
        self.kube = kube

    def informer_for(self, kind: type[Any]) -> FakeInformer:
        return FakeInformer(self.kube, kind)

    async def get(self, kind: type[Any], name: str, namespace: str | None = None) -> Any:
        obj = self.kube.cache_get(kind, name, namespace)
        if obj is None:
            raise kube_errors.NotFound(404, "NotFound", "not in cache")
        return obj

    async def list(
        self, kind: type[Any], namespace: str | None = None, label_selector: str | None = None
    ) -> list[Any]:
        return self.kube.cache_list(kind, namespace, label_selector=label_selector)

    async def wait_for_resource_version(
        self,
        kind: type[Any],
        rv: str,
        timeout: float,  # noqa: ASYNC109
    ) -> bool:
        return await self.kube.wait_for_resource_version(kind, rv, timeout)


@dataclass
class FakeStore:
    history_rows: dict[str, list[HistoryEntry]] = field(default_factory=dict)
    latest: dict[str, dict[str, MetricPoint]] = field(default_factory=dict)
    notes: dict[str, list[AnnotationEntry]] = field(default_factory=dict)
    audits: list[AuditEntry] = field(default_factory=list)
    down: bool = False
    latest_calls: int = 0
    ids: Any = field(default_factory=lambda: itertools.count(1))

    def _check(self) -> None:
        if self.down:
            raise DatabaseUnavailable("down") from ConnectionRefusedError("refused")

    async def resource_records(
        self, uid: str, *, history_limit: int, since: datetime
    ) -> ResourceRecords:
        self._check()
        return ResourceRecords(
            history=self.history_rows.get(uid, [])[:history_limit],
            annotations=list(self.notes.get(uid, [])),
        )

    async def latest_metrics(self, uids: Sequence[str]) -> dict[str, dict[str, MetricPoint]]:
        self._check()
        self.latest_calls += 1
        return {u: self.latest[u] for u in uids if u in self.latest}

    async def history(self, uid: str, *, limit: int) -> list[HistoryEntry]:
        self._check()
        return self.history_rows.get(uid, [])[:limit]

    async def metric_series(
        self, uid: str, *, since: datetime, name: str | None
    ) -> list[MetricSeriesPoint]:
        self._check()
        return []

    async def annotations(self, uid: str) -> list[AnnotationEntry]:
        self._check()
        return list(self.notes.get(uid, []))

    async def add_annotation(self, ref: ResourceRef, *, author: str, body: str) -> AnnotationEntry:
        self._check()
        entry = AnnotationEntry(next(self.ids), author, body, datetime.now(UTC))
        self.notes.setdefault(ref.uid, []).append(entry)
        return entry

    async def delete_annotation(self, uid: str, annotation_id: int) -> bool:
        self._check()
        rows = self.notes.get(uid, [])
        kept = [r for r in rows if r.id != annotation_id]
        self.notes[uid] = kept
        return len(kept) != len(rows)

    async def audit(self, entry: AuditEntry) -> None:
        self._check()
        self.audits.append(entry)
