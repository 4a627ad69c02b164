"""The cluster side of a view: the informer cache, made to read your own writes.

Reads come from the cache the reconciler uses (no API-server round trip per GET). A
cache lags the API server by one watch event, so a GET right after this process's own
POST or PATCH could show the old object — controller-runtime's long-standing stale-read
complaint. :class:`WriteTracker` remembers the resourceVersion of each write this
process made; a read of that object first waits (bounded) for the cache to reach it,
and if the cache is still behind when the time is up, reads the API server directly.
Objects nobody wrote recently are served from the cache without waiting.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import anyio

from kubeweft.runtime import errors as kube_errors
from kubeweft.runtime.objects import kind_info
from kubeweft.views.errors import ResourceNotFound

if TYPE_CHECKING:
    from kubeweft.views.tableindex import TableIndex

__all__ = [
    "CacheReader",
    "ClusterReader",
    "ObjectCache",
    "ObjectGetter",
    "SharedStore",
    "WriteTracker",
]


class SharedStore(Protocol):
    """What the reader needs of one ``SharedInformer``: its store, read in place."""

    def get(self, namespace: str | None, name: str) -> Any | None: ...

    def list(
        self, namespace: str | None = None, label_selector: str | None = None
    ) -> list[Any]: ...

    def has_synced(self) -> bool: ...


class ObjectCache(Protocol):
    """What the reader needs of ``kubeweft.runtime.cache.Cache``."""

    def informer_for(self, kind: type[Any]) -> SharedStore: ...

    async def get(self, kind: type[Any], name: str, namespace: str | None = None) -> Any: ...

    async def list(
        self, kind: type[Any], namespace: str | None = None, label_selector: str | None = None
    ) -> list[Any]: ...

    async def wait_for_resource_version(
        self,
        kind: type[Any],
        resource_version: str,
        timeout: float,  # noqa: ASYNC109
    ) -> bool: ...


class ObjectGetter(Protocol):
    """What the reader needs of ``kubeweft.runtime.client.Client`` (the fallback)."""

    async def get(self, kind: type[Any], name: str, namespace: str | None = None) -> Any: ...


class ClusterReader(Protocol):
    """The cluster side as views see it."""

    async def get(self, kind: type[Any], namespace: str | None, name: str) -> Any:
        """The object, as fresh as this process's last write to it; ResourceNotFound if absent."""
        ...

    def peek_uid(self, kind: type[Any], namespace: str | None, name: str) -> str | None:
        """The UID the cache holds for the object right now (UIDs never change)."""
        ...

    async def list(
        self, kind: type[Any], namespace: str | None, label_selector: str | None
    ) -> list[Any]: ...


@dataclass(frozen=True)
class PendingWrite:
    resource_version: str | None  # None: the object was deleted
    uid: str | None


_Key = tuple[str, str | None, str]


class WriteTracker:
    """The resourceVersions of this process's recent writes, per object (bounded, FIFO)."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._capacity = capacity
        self._pending: OrderedDict[_Key, PendingWrite] = OrderedDict()
        self._newest: dict[str, str] = {}

    @staticmethod
    def _key(kind: type[Any], namespace: str | None, name: str) -> _Key:
        return (kind_info(kind).plural, namespace, name)

    def wrote(self, kind: type[Any], obj: Any) -> None:
        meta = obj.metadata
        key = self._key(kind, meta.namespace, meta.name)
        self._remember(key, PendingWrite(meta.resourceVersion, meta.uid))
        if meta.resourceVersion:
            self._newest[key[0]] = meta.resourceVersion

    def deleted(self, kind: type[Any], namespace: str | None, name: str, uid: str | None) -> None:
        self._remember(self._key(kind, namespace, name), PendingWrite(None, uid))

    def pending(self, kind: type[Any], namespace: str | None, name: str) -> PendingWrite | None:
        return self._pending.get(self._key(kind, namespace, name))

    def newest(self, kind: type[Any]) -> str | None:
        """The resourceVersion of the latest write to any object of ``kind``."""
        return self._newest.get(kind_info(kind).plural)

    def settle(self, kind: type[Any], namespace: str | None, name: str) -> None:
        self._pending.pop(self._key(kind, namespace, name), None)

    def _remember(self, key: _Key, write: PendingWrite) -> None:
        self._pending.pop(key, None)
        self._pending[key] = write
        while len(self._pending) > self._capacity:
            self._pending.popitem(last=False)


class CacheReader:
    """A :class:`ClusterReader` over the informer cache with read-your-writes."""

    def __init__(
        self,
        cache: ObjectCache,
        client: ObjectGetter,
        tracker: WriteTracker,
        *,
        timeout: float,
    ) -> None:
        self._cache = cache
        self._client = client
        self._tracker = tracker
        self._timeout = timeout
        # Imported here: the table index reads objects through views.table, which (like
        # every view) imports this module.
        from kubeweft.views.tableindex import TableIndexes

        self._tables = TableIndexes()

    async def _cached(self, kind: type[Any], namespace: str | None, name: str) -> Any | None:
        # Views never mutate what they read, so the informer's own objects are served
        # without a deep copy; until the informer has synced, Cache.get waits for it.
        informer = self._cache.informer_for(kind)
        if informer.has_synced():
            return informer.get(namespace, name)
        try:
            return await self._cache.get(kind, name, namespace)
        except kube_errors.NotFound:
            return None

    def peek_uid(self, kind: type[Any], namespace: str | None, name: str) -> str | None:
        obj = self._cache.informer_for(kind).get(namespace, name)
        return None if obj is None else obj.metadata.uid

    async def _reached(self, kind: type[Any], resource_version: str) -> bool:
        try:
            reached = await self._cache.wait_for_resource_version(
                kind, resource_version, self._timeout
            )
        except TimeoutError:
            return False
        return reached is not False

    async def get(self, kind: type[Any], namespace: str | None, name: str) -> Any:
        pending = self._tracker.pending(kind, namespace, name)
        if pending is None:
            return self._found(kind, namespace, name, await self._cached(kind, namespace, name))
        if pending.resource_version is not None:
            if await self._reached(kind, pending.resource_version):
                self._tracker.settle(kind, namespace, name)
                return self._found(kind, namespace, name, await self._cached(kind, namespace, name))
            return await self._direct(kind, namespace, name)
        # Deleted by us: the cache is current once the old incarnation is gone from it.
        cached = await self._cached(kind, namespace, name)
        if cached is None or cached.metadata.uid != pending.uid:
            self._tracker.settle(kind, namespace, name)
            return self._found(kind, namespace, name, cached)
        return await self._direct(kind, namespace, name)

    async def _direct(self, kind: type[Any], namespace: str | None, name: str) -> Any:
        try:
            return await self._client.get(kind, name, namespace)
        except kube_errors.NotFound:
            raise ResourceNotFound(kind_info(kind).plural, namespace, name) from None

    @staticmethod
    def _found(kind: type[Any], namespace: str | None, name: str, obj: Any | None) -> Any:
        if obj is None:
            raise ResourceNotFound(kind_info(kind).plural, namespace, name)
        return obj

    async def _caught_up(self, kind: type[Any]) -> None:
        """Wait (bounded) until the cache has this process's latest write to ``kind``."""
        newest = self._tracker.newest(kind)
        if newest is not None:
            with anyio.move_on_after(self._timeout):
                await self._reached(kind, newest)

    async def table_index(self, kind: type[Any]) -> TableIndex | None:
        """``kind``'s dashboard table index (``views.tableindex``), as fresh as ``list``;
        None until the informer has synced."""
        await self._caught_up(kind)
        return self._tables.of(kind, self._cache.informer_for(kind))

    async def list_version(self, kind: type[Any]) -> str | None:
        """The newest resourceVersion the cache of ``kind`` has seen, once it has this
        process's latest write to ``kind`` (as ``list`` waits); None before it synced.
        Any add, update or delete moves it, so a page kept under it is still the page."""
        await self._caught_up(kind)
        informer = self._cache.informer_for(kind)
        # A store that tells no version keeps no page (None).
        version: str | None = getattr(informer, "resource_version", None)
        return version if informer.has_synced() else None

    async def list(
        self, kind: type[Any], namespace: str | None, label_selector: str | None
    ) -> list[Any]:
        await self._caught_up(kind)
        informer = self._cache.informer_for(kind)
        if informer.has_synced():
            return informer.list(namespace, label_selector)
        return await self._cache.list(kind, namespace, label_selector)
