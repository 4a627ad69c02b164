"""A shared informer: one list+watch per kind, kept in memory, fanned out to handlers.

Every controller interested in a kind shares one informer, so the API server sees one
watch per kind however many controllers read it. The informer lists (in pages), then
watches from the list's resourceVersion with bookmarks, so it always knows the newest
version the server has shown it. From there:

* a dropped connection resumes the watch from that version — no event is lost;
* 410 Gone (the version was compacted) relists, and the difference between the old
  store and the new list is delivered as adds, updates and deletes, so a deletion that
  happened while the watch was down still reaches ``on_delete``;
* a watch that stays silent past ``idle_timeout`` (no event and no bookmark; the API
  server bookmarks about once a minute) is presumed hung and reconnected — a half-open
  TCP connection must not leave the operator deaf;
* every ``resync_period`` (10 h ± 10 % as in controller-runtime) each cached object is
  re-delivered locally as ``on_update(obj, obj)``;
* an object the kind's model cannot decode (the CRD serves a looser or newer schema,
  e.g. during a rollout or rollback) is skipped — logged once per resourceVersion with
  its name and namespace, counted in ``kubeweft_informer_decode_errors_total`` — in the
  list and in the watch alike, so it cannot stop the informer on every replica. The
  last version that did decode stays cached; a deletion still removes it. Any other
  unexpected failure is logged and retried with backoff, never fatal.

Handlers are called synchronously from the informer's task, in event order; they must
not block (they enqueue keys). A handler that raises is logged and skipped.

``mutation(obj)`` takes the API server's answer to a write this process made (the REST
layer's creates, patches and rollbacks) into a ``MutationCache``: ``get`` returns it
until the watch shows that version or a newer one, and the handlers registered with
``own_writes`` — a controller's sources — hear of it at once, so the controller's
reconcile starts one watch delivery earlier. The watch event of the same version is
then not delivered to them again: they have heard it (an older event neither — reads
still return the newer write). ``list`` and the indexes read the store alone.

With ``keep_encoded`` the store holds each object as its JSON bytes (a third of a
decoded Deployment's memory, or less) and every read decodes a private copy — which is
faster than the deep copy a cache read makes otherwise (≈ 10 µs against ≈ 200 µs for a
Deployment). The cache keeps the kinds that only controllers read this way (the owned
children, ``Cache.informer_for(owned=True)``); a model's informer, read in place by
every REST list, keeps decoded objects.
"""

from __future__ import annotations

import builtins
import logging
import random
from collections.abc import Callable, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, cast

import anyio
import anyio.abc

from kubeweft.logging import get_logger
from kubeweft.runtime import errors, metrics, objects
from kubeweft.runtime.client import Client, Selector, Undecodable, WatchEvent
from kubeweft.runtime.clock import Clock, RealClock
from kubeweft.runtime.index import (
    NAMESPACE_INDEX,
    OWNER_UID_INDEX,
    OWNERS_INDEX,
    Indexer,
    IndexFunc,
    by_controller_owner_uid,
    by_namespace,
    by_owner_uids,
)
from kubeweft.runtime.labels import LabelSelector
from kubeweft.runtime.mutationcache import MutationCache, integer_version
from kubeweft.runtime.objects import K, ObjectKey

__all__ = [
    "InformerOptions",
    "ResourceEventHandler",
    "SharedInformer",
    "strip_managed_fields",
]

log = logging.getLogger(__name__)
_log = get_logger(__name__)

#: Seconds between two errors about a custom kind whose CRD is not served.
NOT_SERVED_LOG_INTERVAL = 60.0


class ResourceEventHandler(Protocol):
    """client-go's ``ResourceEventHandler``; called synchronously, must not block."""

    def on_add(self, obj: Any, is_initial_list: bool) -> None: ...

    def on_update(self, old: Any, new: Any) -> None: ...

    def on_delete(self, obj: Any) -> None: ...


def strip_managed_fields(obj: Any) -> Any:
    """Drop ``metadata.managedFields`` (often half an object's size) before caching."""
    meta = getattr(obj, "metadata", None)
    if meta is not None and getattr(meta, "managedFields", None) is not None:
        meta.managedFields = None
    return obj


@dataclass(frozen=True)
class InformerOptions:
    namespace: str | None = None
    label_selector: Selector | None = None
    field_selector: Selector | None = None
    resync_period: float | None = 36_000.0
    idle_timeout: float = 70.0
    page_size: int = 500
    transform: Callable[[Any], Any] | None = strip_managed_fields
    # client-go's reflector backoff after a failed list or watch.
    backoff_initial: float = 0.8
    backoff_max: float = 30.0
    # Server-side watch timeout is drawn from [min, 2*min), as client-go does, so that
    # watches of many informers do not all reconnect at the same instant.
    min_watch_timeout: int = 300
    indexers: Mapping[str, IndexFunc] = field(default_factory=dict)
    #: Time for the resync period (tests drive it with ``clock.FakeClock``).
    clock: Clock = field(default_factory=RealClock)
    #: Keep each object as its JSON bytes and decode on read (reads return copies).
    keep_encoded: bool = False
    #: Seconds an object this process wrote (``mutation``) is read in place of the
    #: store's at most, should the watch not show it sooner.
    mutation_ttl: float = 30.0


class SharedInformer(Generic[K]):
    """List+watch of one kind into an indexed in-memory store; a runnable."""

    def __init__(
        self, client: Client, kind: type[K], options: InformerOptions | None = None
    ) -> None:
        self.client = client
        self.kind = kind
        self.options = options or InformerOptions()
        self._name = objects.kind_info(kind).kind
        # The object, or its JSON bytes with keep_encoded (_keep and _load convert).
        self._store: dict[ObjectKey, Any] = {}
        self._encoded = self.options.keep_encoded
        self._indexer = Indexer()
        self._indexer.add_index(NAMESPACE_INDEX, by_namespace, {})
        self._indexer.add_index(OWNER_UID_INDEX, by_controller_owner_uid, {})
        self._indexer.add_index(OWNERS_INDEX, by_owner_uids, {})
        for name, func in self.options.indexers.items():
            self._indexer.add_index(name, func, {})
        self._handlers: list[ResourceEventHandler] = []
        #: Those of ``_handlers`` that hear of this process's writes (``own_writes``).
        self._own_writes: list[ResourceEventHandler] = []
        self._resource_version: str | None = None
        self._observed: int | None = None  # _resource_version as an integer, if it is one
        self._mutations = MutationCache(self.options.clock, ttl=self.options.mutation_ttl)
        self._synced = anyio.Event()
        self._rv_advanced = anyio.Event()
        # Undecodable objects already reported, by key: the version reported.
        self._undecodable: dict[ObjectKey, str] = {}
        self._decode_errors = metrics.INFORMER_DECODE_ERRORS.labels(self._name)
        self._clock = self.options.clock
        self._not_served_logged_at = float("-inf")

    # --- handlers and indexes ---------------------------------------------------------
    def add_event_handler(self, handler: ResourceEventHandler, *, own_writes: bool = False) -> None:
        """Register ``handler``; if already synced it first gets every cached object as an add.

        ``own_writes``: ``handler`` also hears of this process's own writes as soon as
        ``mutation`` records them — for a level-based handler that only looks the object
        up again (a controller's source), never for one that relays events.
        """
        self._handlers.append(handler)
        if own_writes:
            self._own_writes.append(handler)
        if self.has_synced():
            for entry in list(self._store.values()):
                self._call(handler, "on_add", self._load(entry), True)

    def remove_event_handler(self, handler: ResourceEventHandler) -> None:
        self._handlers.remove(handler)
        if handler in self._own_writes:
            self._own_writes.remove(handler)

    # --- this process's writes ------------------------------------------------------------
    def mutation(self, obj: K) -> bool:
        """``obj`` is what the API server answered to a write this process made: ``get``
        returns it until the watch shows its version or a newer one, and the handlers
        registered with ``own_writes`` hear of it now (an update from what ``get``
        returned before, or an add). False, and nothing done, when the informer has seen
        this version or a newer one already, or the version is not an integer."""
        version = integer_version(_rv(obj))
        if version is None or (self._observed is not None and self._observed >= version):
            return False
        key = objects.object_key(obj)
        kept = self._mutations.get(key)
        if kept is not None and kept[1] >= version:
            return False  # two writes answered out of order: the newer one stays
        before = self.get(key.namespace, key.name)
        written = self._transform(objects.deep_copy(obj))
        self._mutations.add(key, self._keep(written), version)
        for handler in list(self._own_writes):
            if before is None:
                self._call(handler, "on_add", written, False)
            else:
                self._call(handler, "on_update", before, written)
        return True

    def add_index(self, name: str, func: IndexFunc) -> None:
        self._indexer.add_index(name, func, self._objects())

    # --- reads ----------------------------------------------------------------------
    def has_synced(self) -> bool:
        return self._synced.is_set()

    @property
    def returns_copies(self) -> bool:
        """Reads decode a fresh object each time (``keep_encoded``): the caller owns it."""
        return self._encoded

    async def wait_for_sync(self) -> None:
        await self._synced.wait()

    @property
    def resource_version(self) -> str | None:
        """The newest resourceVersion this informer has observed (event, bookmark or list)."""
        return self._resource_version

    async def wait_for_resource_version(self, resource_version: str, timeout: float) -> bool:  # noqa: ASYNC109
        """Wait until the informer has observed ``resource_version`` (or newer).

        For read-your-writes: after a write returned version V, once this is True the
        store reflects that write. Versions are compared as integers (etcd revisions);
        Kubernetes calls them opaque, so a non-numeric version only matches itself.
        """
        with anyio.move_on_after(timeout):
            while not self._has_observed(resource_version):
                await self._rv_advanced.wait()
            return True
        return False

    def get(self, namespace: str | None, name: str) -> K | None:
        """The cached object (shared, do not mutate, unless ``returns_copies``) or None:
        this process's own write of it while the watch has not shown it (``mutation``)."""
        key = ObjectKey(namespace or None, name)
        entry = self._mutations.newer_than(key, self._observed) if self._mutations else None
        if entry is None:
            entry = self._store.get(key)
        return None if entry is None else self._load(entry)

    def list(self, namespace: str | None = None, label_selector: Selector | None = None) -> list[K]:
        """Cached objects, optionally of one namespace and matching a label selector."""
        if namespace is not None:
            keys = self._indexer.lookup(NAMESPACE_INDEX, namespace)
            # One namespace: its keys' order is their names' (compared in C, where
            # ObjectKey's dataclass ordering is a Python call per comparison).
            candidates = [self._load(self._store[key]) for key in sorted(keys, key=_key_name)]
        else:
            candidates = [self._load(entry) for entry in self._store.values()]
        selector = LabelSelector.of(label_selector)  # parsed once, invalid or not
        if selector:
            candidates = [
                obj
                for obj in candidates
                if selector.matches(obj.metadata.labels or {})  # type: ignore[attr-defined]
            ]
        return candidates

    def by_index(self, name: str, value: str) -> builtins.list[K]:
        keys = sorted(self._indexer.lookup(name, value))
        return [self._load(self._store[key]) for key in keys]

    def __len__(self) -> int:
        return len(self._store)

    # --- the runnable -----------------------------------------------------------------
    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """List, then watch forever; ``task_status.started()`` once the first list is in."""
        started = False
        reason = "initial"
        backoff = self.options.backoff_initial
        async with anyio.create_task_group() as group:
            while True:
                try:
                    if self._resource_version is None:
                        await self._relist(reason)
                        if not started:
                            started = True
                            task_status.started()
                            if self.options.resync_period:
                                group.start_soon(self._resync_loop)
                    idle = await self._watch()
                    backoff = self.options.backoff_initial
                    if idle:
                        metrics.INFORMER_RELISTS.labels(self._name, "idle").inc()
                        log.warning("%s watch idle for %ss: reconnecting", self._name, idle)
                except errors.Gone:
                    log.info(
                        "%s: resourceVersion %s too old, relisting",
                        self._name,
                        self._resource_version,
                    )
                    self._resource_version = None
                    reason = "gone"
                except Exception as error:
                    # An ApiError is expected; anything else is a bug, but one that
                    # must not end the informer (and with it the process).
                    if self._resource_version is None:
                        reason = "error"
                    if isinstance(error, errors.NotFound) and objects.is_custom_kind(self.kind):
                        self._report_not_served()
                    else:
                        log.warning(
                            "%s list/watch failed (%s); retrying in %.1fs",
                            self._name,
                            error,
                            backoff,
                            exc_info=not isinstance(error, errors.ApiError),
                        )
                    await anyio.sleep(backoff * random.uniform(1.0, 1.5))
                    backoff = min(backoff * 2, self.options.backoff_max)

    def _report_not_served(self) -> None:
        """A 404 on a custom kind's list/watch: its CRD is missing (never installed, or
        deleted since). Logged as an error naming the resource, at most every
        ``NOT_SERVED_LOG_INTERVAL`` s; the informer keeps retrying."""
        now = anyio.current_time()
        if now - self._not_served_logged_at < NOT_SERVED_LOG_INTERVAL:
            return
        self._not_served_logged_at = now
        info = objects.kind_info(self.kind)
        _log.error(
            f"{info} {info.version} is not served: is the CRD installed? "
            "kubeweft manifests | kubectl apply -f -",
            kind=self._name,
            crd=str(info),
        )

    async def _relist(self, reason: str) -> None:
        opts = self.options
        skipped: builtins.list[Undecodable] = []
        snapshot = await self.client.list_all(
            self.kind,
            opts.namespace,
            label_selector=opts.label_selector,
            field_selector=opts.field_selector,
            page_size=opts.page_size,
            on_undecodable=skipped.append,
        )
        metrics.INFORMER_RELISTS.labels(self._name, reason).inc()
        initial = not self.has_synced()
        fresh: dict[ObjectKey, K] = {}
        for item in snapshot.items:
            obj = self._transform(item)
            fresh[objects.object_key(obj)] = obj
        undecodable = {self._report_undecodable(bad) for bad in skipped}
        for key in undecodable & self._store.keys():
            fresh[key] = self._load(self._store[key])  # keep the last version that decoded
        # Forget reports of objects that are gone or decode again (bounded memory).
        self._undecodable = {k: v for k, v in self._undecodable.items() if k in undecodable}
        old_store = self._store
        self._store = {key: self._keep(obj) for key, obj in fresh.items()}
        self._indexer.rebuild(fresh)
        for key, obj in fresh.items():
            old_entry = old_store.get(key)
            if old_entry is None:
                self._dispatch("on_add", obj, initial)
            elif _rv(old := self._load(old_entry)) != _rv(obj):
                self._dispatch("on_update", old, obj)
        for key, old_entry in old_store.items():
            if key not in fresh:
                # Deleted while we were not watching: the last state we knew.
                self._dispatch("on_delete", self._load(old_entry))
        self._observe(snapshot.resource_version)
        self._synced.set()

    async def _watch(self) -> float | None:
        """Watch until the server ends the stream (None) or it is silent too long (the timeout)."""
        opts = self.options
        idle_timeout = opts.idle_timeout
        events = self.client.watch(
            self.kind,
            opts.namespace,
            resource_version=self._resource_version,
            label_selector=opts.label_selector,
            field_selector=opts.field_selector,
            timeout_seconds=random.randint(opts.min_watch_timeout, 2 * opts.min_watch_timeout),
            on_undecodable=self._skip_undecodable_event,
        )
        async with aclosing(events):
            iterator = aiter(events)
            while True:
                with anyio.move_on_after(idle_timeout) as deadline:
                    try:
                        event = await anext(iterator)
                    except StopAsyncIteration:
                        return None
                if deadline.cancelled_caught:
                    return idle_timeout
                self._apply(event)

    def _apply(self, event: WatchEvent[K]) -> None:
        metrics.INFORMER_EVENTS.labels(self._name, event.type).inc()
        obj = event.object
        if obj is not None:
            obj = self._transform(obj)
            key = objects.object_key(obj)
            self._undecodable.pop(key, None)
            if event.type == "DELETED":
                self._store.pop(key, None)
                self._indexer.update(key, None)
                self._dispatch("on_delete", obj)
            else:
                old = self._store.get(key)
                self._store[key] = self._keep(obj)
                self._indexer.update(key, obj)
                self._dispatch_change(key, None if old is None else self._load(old), obj)
        self._observe(event.resource_version)

    def _dispatch_change(self, key: ObjectKey, old: K | None, obj: K) -> None:
        """The watch's add or update of ``key`` to ``obj``, to every handler. One that
        heard of this process's write of the object (``mutation``) hears the change from
        that write, and nothing if the write was this version or a newer one."""
        kept = self._mutations.get(key) if self._own_writes and self._mutations else None
        if kept is None:
            if old is None:
                self._dispatch("on_add", obj, False)
            else:
                self._dispatch("on_update", old, obj)
            return
        entry, version = kept
        heard = (integer_version(_rv(obj)) or 0) <= version
        for handler in list(self._handlers):
            before = old
            if handler in self._own_writes:
                if heard:
                    continue
                before = self._load(entry)
            if before is None:
                self._call(handler, "on_add", obj, False)
            else:
                self._call(handler, "on_update", before, obj)

    def _skip_undecodable_event(self, bad: Undecodable) -> None:
        """A watch event whose object does not decode: skip it, but keep its version
        (and honour a deletion), so the watch goes on past it."""
        key = self._report_undecodable(bad)
        if bad.event == "DELETED":
            self._undecodable.pop(key, None)
            old = self._store.pop(key, None)
            self._indexer.update(key, None)
            if old is not None:
                self._dispatch("on_delete", self._load(old))
        self._observe(bad.resource_version)

    def _report_undecodable(self, bad: Undecodable) -> ObjectKey:
        key = ObjectKey(bad.namespace or None, bad.name)
        if self._undecodable.get(key) != bad.resource_version:
            self._undecodable[key] = bad.resource_version
            self._decode_errors.inc()
            _log.error(
                "object does not decode as its kind; skipped",
                kind=self._name,
                namespace=bad.namespace,
                name=bad.name,
                resource_version=bad.resource_version,
                watch_event=bad.event or "LIST",
                error=str(bad.error),
            )
        return key

    async def _resync_loop(self) -> None:
        period = self.options.resync_period
        assert period
        while True:
            await self._clock.sleep(period * random.uniform(0.9, 1.1))
            for entry in list(self._store.values()):
                obj = self._load(entry)
                self._dispatch("on_update", obj, obj)

    # --- plumbing -------------------------------------------------------------------
    def _transform(self, obj: K) -> K:
        transform = self.options.transform
        return transform(obj) if transform is not None else obj

    def _keep(self, obj: K) -> Any:
        """What the store holds for ``obj``: itself, or its JSON bytes (keep_encoded)."""
        return objects.encode(obj) if self._encoded else obj

    def _load(self, entry: Any) -> K:
        return objects.decode(self.kind, entry) if self._encoded else cast(K, entry)

    def _objects(self) -> dict[ObjectKey, K]:
        return {key: self._load(entry) for key, entry in self._store.items()}

    def _observe(self, resource_version: str) -> None:
        if resource_version:
            self._resource_version = resource_version
            self._observed = integer_version(resource_version)
            if self._mutations and self._observed is not None:
                self._mutations.observed(self._observed)
            advanced, self._rv_advanced = self._rv_advanced, anyio.Event()
            advanced.set()

    def _has_observed(self, resource_version: str) -> bool:
        current = self._resource_version
        if current is None:
            return False
        if current.isdigit() and resource_version.isdigit():
            return int(current) >= int(resource_version)
        return current == resource_version

    def _dispatch(self, method: str, *args: Any) -> None:
        for handler in list(self._handlers):
            self._call(handler, method, *args)

    def _call(self, handler: ResourceEventHandler, method: str, *args: Any) -> None:
        try:
            getattr(handler, method)(*args)
        except Exception:
            log.exception(
                "%s handler %r.%s raised; the informer goes on", self._name, handler, method
            )


def _rv(obj: Any) -> str | None:
    return getattr(obj.metadata, "resourceVersion", None)


def _key_name(key: ObjectKey) -> str:
    return key.name
