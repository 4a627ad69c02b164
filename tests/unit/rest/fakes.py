"""In-memory fakes of kubeweft's OWN interfaces for unit tests of the REST layer: the
shared ``tests.support.fake_client.FakeClient`` with an informer-cache view on top, and
a record store. Integration tests use the real control plane and database.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from kubeweft.runtime import errors as kube_errors
from kubeweft.runtime import objects
from kubeweft.runtime.index import OWNERS_INDEX, by_owner_uids
from kubeweft.runtime.labels import LabelSelector
from kubeweft.runtime.objects import K
from kubeweft.views.errors import DatabaseUnavailable
from kubeweft.views.records import (
    AnnotationEntry,
    AuditEntry,
    HistoryEntry,
    MetricBucket,
    MetricPoint,
    MetricSeriesPoint,
    ResourceRecords,
    ResourceRef,
)
from tests.support.fake_client import FakeClient


class CachedFakeClient(FakeClient):
    """The shared ``FakeClient`` plus the informer cache the REST layer reads from.

    The cache is a snapshot of the stored objects, taken after every write; ``lag``
    freezes it, as a watch that has not delivered the latest writes yet.
    """

    def __init__(self) -> None:
        super().__init__()
        self.lag = False
        self._snapshot: dict[tuple[str, str | None, str], dict[str, Any]] = {}

    def _store(self, kind: type[K], key: Any, data: dict[str, Any], event: str, verb: str) -> K:
        stored = super()._store(kind, key, data, event, verb)
        self._publish()
        return stored

    async def delete(
        self, kind: type[Any], name: str, namespace: str | None = None, **options: Any
    ) -> None:
        await super().delete(kind, name, namespace, **options)
        self._publish()

    def _publish(self) -> None:
        if not self.lag:
            self._snapshot = dict(self._objects)

    # --- the cache's view ---------------------------------------------------------------
    def cache_get(self, kind: type[Any], name: str, namespace: str | None = None) -> Any:
        data = self._snapshot.get(self._key(kind, name, namespace))
        return None if data is None else objects.from_dict(kind, data)

    def cache_list(
        self, kind: type[Any], namespace: str | None = None, *, label_selector: str | None = None
    ) -> list[Any]:
        name = objects.kind_info(kind).kind
        selector = LabelSelector.of(label_selector)
        return [
            objects.from_dict(kind, data)
            for (k, ns, _), data in self._snapshot.items()
            if k == name
            and (namespace is None or ns == namespace)
            and selector.matches(data["metadata"].get("labels") or {})
        ]

    async def wait_for_resource_version(self, kind: type[Any], rv: str, timeout: float) -> bool:  # noqa: ASYNC109
        return not self.lag


class FakeInformer:
    def __init__(self, kube: CachedFakeClient, kind: type[Any]) -> None:
        self.kube, self.kind = kube, kind

    def get(self, namespace: str | None, name: str) -> Any | None:
        return self.kube.cache_get(self.kind, name, namespace)

    def list(self, namespace: str | None = None, label_selector: str | None = None) -> list[Any]:
        return self.kube.cache_list(self.kind, namespace, label_selector=label_selector)

    def by_index(self, name: str, value: str) -> list[Any]:
        assert name == OWNERS_INDEX, f"the fake has only the {OWNERS_INDEX!r} index"
        return [obj for obj in self.list() if value in by_owner_uids(obj)]

    def has_synced(self) -> bool:
        return True

    async def wait_for_sync(self) -> None:
        return None


class FakeCache:
    def __init__(self, kube: CachedFakeClient) -> None:
        self.kube = kube

    def informer_for(self, kind: type[Any], *, owned: bool = False) -> FakeInformer:
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
    buckets: dict[str, dict[str, list[MetricBucket]]] = field(default_factory=dict)
    bucket_reads: list[tuple[str, timedelta, int]] = field(default_factory=list)
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

    async def history_entry(self, uid: str, generation: int) -> HistoryEntry | None:
        self._check()
        return next((h for h in self.history_rows.get(uid, []) if h.generation == generation), None)

    async def metric_buckets(
        self, uid: str, *, since: datetime, until: datetime, buckets: int
    ) -> dict[str, list[MetricBucket]]:
        self._check()
        self.bucket_reads.append((uid, until - since, buckets))
        return self.buckets.get(uid, {})

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
