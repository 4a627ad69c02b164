"""A watch cache per model: the informer's recent changes, fanned out to live streams.

The API server keeps a *watch cache* per resource — a bounded ring of recent events —
so that a watch resumed from a resourceVersion is served without a gap, and a version
older than the ring gets 410 Gone (the client relists). This is the same idea on top of
the informer the controller already runs: one event handler per model, whatever the
number of clients, and no extra watch on the API server per client.

* Each change is recorded with its object's resourceVersion (etcd's revision, so the
  order is total). ``capacity`` changes are kept; ``floor`` is the newest version that
  is no longer covered — a client that has seen everything up to a version ``>= floor``
  resumes exactly, an older one must resync (current state, then changes).
* ``subscribe`` takes the replay (or the snapshot) and registers the subscription in one
  synchronous step: the informer calls its handlers from the same event loop, so no
  change can fall between the two.
* After the informer relists (its watch fell behind compaction), the difference it
  delivers is not in version order and cannot be resumed into: those changes are sent
  to live subscriptions without a version, and the floor rises past the relist so that
  every earlier version resyncs.
* A change is offered to the *feeds* that may select it — one per distinct filter,
  shared by every stream with that filter (``views.feed``) — found by the object's
  name and namespace, so a change costs work per feed that may show it, not per stream.
* The buffer keeps each change's wire form, not the object: ``encode`` (set by the
  stream routes) renders the object's part when the change is recorded, and the
  object is let go; the database fields complete it when it is first sent
  (``rest.streambodies``). An object's old versions are not kept alive for resuming.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from kubeweft.views.feed import Feed
from kubeweft.views.subscription import Subscription, WatchFilter

__all__ = ["Change", "Start", "WatchCache", "WatchedInformer"]


class WatchedInformer(Protocol):
    """What the watch cache needs of ``kubeweft.runtime.informer.SharedInformer``."""

    @property
    def resource_version(self) -> str | None: ...

    def add_event_handler(self, handler: Any) -> None: ...

    def remove_event_handler(self, handler: Any) -> None: ...

    def get(self, namespace: str | None, name: str) -> Any | None: ...

    def list(self, namespace: str | None = None, label_selector: Any = None) -> list[Any]: ...

    def has_synced(self) -> bool: ...

    async def wait_for_resource_version(self, resource_version: str, timeout: float) -> bool: ...  # noqa: ASYNC109


@dataclass(eq=False)
class Change:
    """One change of one object: ``added``, ``modified`` or ``deleted``."""

    type: str
    #: None for a change that cannot be resumed from (a relist's difference).
    resource_version: int | None
    namespace: str | None
    name: str
    uid: str
    labels: Mapping[str, str]
    #: The labels before a modification (a label selector may stop or start matching).
    old_labels: Mapping[str, str] | None = None
    #: The object, until its wire form is known (``head`` or ``payload``).
    obj: Any | None = None
    #: The object's part of its wire form (a list item up to its database fields).
    head: bytes | None = None
    #: The whole wire form, with its database fields, shared by every stream.
    payload: str | None = None

    @classmethod
    def of(
        cls,
        kind: str,
        obj: Any,
        version: int | None,
        old_labels: Mapping[str, str] | None,
        encode: Callable[[Any], bytes] | None,
    ) -> Change:
        meta = obj.metadata
        change = cls(
            kind,
            version,
            meta.namespace or None,
            meta.name,
            meta.uid or "",
            meta.labels or {},
            old_labels,
        )
        if encode is None:
            change.obj = obj
        else:
            change.head = encode(obj)
        return change


@dataclass(frozen=True)
class Start:
    """Where a new subscription starts: a replay of changes after the client's version,
    or (``resync``) the current objects as of ``resource_version``."""

    resync: bool
    resource_version: int
    replay: list[Change] = field(default_factory=list)
    snapshot: list[Any] = field(default_factory=list)


def _version(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


class WatchCache:
    """The recent changes of one model, offered to every feed; an event handler."""

    def __init__(self, informer: WatchedInformer, capacity: int) -> None:
        self.informer = informer
        self.capacity = capacity
        #: Renders an object's part of its wire form when a change is recorded; None:
        #: the change keeps the object until it is first sent.
        self.encode: Callable[[Any], bytes] | None = None
        self._changes: deque[Change] = deque()
        self._floor: int | None = None
        self._last = 0
        # The informer's version when an out-of-order change showed a relist.
        self._relist_from: str | None = None
        self._feeds: dict[tuple[WatchFilter, int], Feed] = {}
        # The feeds by what may select a change: a name, a namespace, or anything.
        self._by_name: dict[str, list[Feed]] = {}
        self._by_namespace: dict[str, list[Feed]] = {}
        self._anywhere: list[Feed] = []
        informer.add_event_handler(self)

    # --- the informer's handler (synchronous, never blocks) -----------------------------
    def on_add(self, obj: Any, is_initial_list: bool) -> None:
        if not is_initial_list:  # the initial list is the state a snapshot shows
            self._record("added", obj)

    def on_update(self, old: Any, new: Any) -> None:
        if old.metadata.resourceVersion != new.metadata.resourceVersion:  # not a resync
            self._record("modified", new, old.metadata.labels or {})

    def on_delete(self, obj: Any) -> None:
        self._record("deleted", obj)

    def _record(self, kind: str, obj: Any, old_labels: Mapping[str, str] | None = None) -> None:
        self._settle()
        version = _version(obj.metadata.resourceVersion)
        if version is None or version <= self._last:
            # A relist's difference: deliver it, but nobody can resume inside it.
            self._relist_from = self.informer.resource_version
            change = Change.of(kind, obj, None, old_labels, self.encode)
        else:
            change = Change.of(kind, obj, version, old_labels, self.encode)
            self._last = version
            self._changes.append(change)
            while len(self._changes) > self.capacity:
                self._floor = self._changes.popleft().resource_version
        if self._feeds:
            for feed in self._feeds_for(change):
                feed.offer(change)

    def _feeds_for(self, change: Change) -> list[Feed]:
        found = list(self._anywhere)
        if change.namespace is not None:
            found += self._by_namespace.get(change.namespace, ())
        found += self._by_name.get(change.name, ())
        return found

    def _settle(self) -> None:
        """Fix the floor: at the informer's version once it has synced, and past a relist
        once the informer has moved on from it."""
        current = _version(self.informer.resource_version)
        if current is None:
            return
        if self._floor is None:
            self._floor = current
            self._last = max(self._last, current)
        if self._relist_from is not None and self.informer.resource_version != self._relist_from:
            self._relist_from = None
            self._changes.clear()
            self._floor = current + 1
            self._last = max(self._last, current)

    # --- subscriptions ----------------------------------------------------------------------
    @property
    def floor(self) -> int | None:
        """Versions below this cannot be resumed from (None: not synced yet)."""
        self._settle()
        return self._floor

    @property
    def position(self) -> int:
        """The version every change up to has been offered (the informer's, once synced)."""
        return max(_version(self.informer.resource_version) or 0, self._last)

    @property
    def buffered(self) -> int:
        """Changes held for resuming (at most ``capacity``)."""
        return len(self._changes)

    def without_payload(self) -> list[Change]:
        """The newest buffered changes no stream has sent yet (no ``payload``): whoever
        fills one fills them all, in one read of their database fields."""
        found = []
        for change in reversed(self._changes):
            if change.payload is not None:
                break
            found.append(change)
        return found[::-1]

    @property
    def subscriptions(self) -> tuple[Subscription, ...]:
        return tuple(s for feed in self._feeds.values() for s in feed.subscriptions)

    @property
    def feeds(self) -> tuple[Feed, ...]:
        return tuple(self._feeds.values())

    def subscribe(self, subscription: Subscription, since: int | None) -> Start:
        """Register ``subscription`` and say where it starts: the changes after ``since``
        when the buffer still covers them, otherwise a resync from the current state."""
        self._settle()
        position = self.position
        self._feed(subscription).attach(subscription)
        subscription.resource_version = position
        floor = self._floor
        if since is not None and floor is not None and floor <= since <= position:
            replay = [c for c in self._changes if c.resource_version and c.resource_version > since]
            return Start(False, position, replay=replay)
        return Start(True, position, snapshot=self._current(subscription.filter))

    def unsubscribe(self, subscription: Subscription) -> None:
        feed = subscription.feed
        if feed is None:
            return
        feed.detach(subscription)
        if not feed.subscriptions:
            del self._feeds[(feed.filter, feed.capacity)]
            self._index(feed).remove(feed)
            selection = feed.filter
            for index, key in (
                (self._by_name, selection.name),
                (self._by_namespace, selection.namespace),
            ):
                if key is not None and not index.get(key, True):
                    del index[key]

    def close(self) -> None:
        """End every subscription (the server is draining)."""
        for subscription in self.subscriptions:
            subscription.close()

    def _feed(self, subscription: Subscription) -> Feed:
        key = (subscription.filter, subscription.capacity)
        feed = self._feeds.get(key)
        if feed is None:
            feed = self._feeds[key] = Feed(subscription.filter, subscription.capacity, self._seen)
            self._index(feed).append(feed)
        return feed

    def _seen(self) -> int:
        return self.position

    def _index(self, feed: Feed) -> list[Feed]:
        selection = feed.filter
        if selection.name is not None:
            return self._by_name.setdefault(selection.name, [])
        if selection.namespace is not None:
            return self._by_namespace.setdefault(selection.namespace, [])
        return self._anywhere

    def _current(self, selection: WatchFilter) -> list[Any]:
        if selection.name is not None:
            obj = self.informer.get(selection.namespace, selection.name)
            found = [] if obj is None else [obj]
        else:
            found = self.informer.list(selection.namespace)
        objs = [o for o in found if selection.selects_labels(o.metadata.labels)]
        return sorted(objs, key=lambda o: (o.metadata.namespace or "", o.metadata.name))
