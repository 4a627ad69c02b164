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
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

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
    obj: Any
    #: None for a change that cannot be resumed from (a relist's difference).
    resource_version: int | None
    #: The labels before a modification (a label selector may stop or start matching).
    old_labels: Mapping[str, str] | None = None
    #: The object's wire form, encoded once and shared by every stream that sends it.
    payload: str | None = None
    #: The framed event per event name (with a selector one change can be sent as
    #: ``added``, ``modified`` or ``deleted``), framed once for every stream.
    frames: dict[str, bytes] = field(default_factory=dict)


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
    """The recent changes of one model, offered to every subscription; an event handler."""

    def __init__(self, informer: WatchedInformer, capacity: int) -> None:
        self.informer = informer
        self.capacity = capacity
        self._changes: deque[Change] = deque()
        self._floor: int | None = None
        self._last = 0
        # The informer's version when an out-of-order change showed a relist.
        self._relist_from: str | None = None
        self._subscriptions: set[Subscription] = set()
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
            change = Change(kind, obj, None, old_labels)
        else:
            change = Change(kind, obj, version, old_labels)
            self._last = version
            self._changes.append(change)
            while len(self._changes) > self.capacity:
                self._floor = self._changes.popleft().resource_version
        for subscription in list(self._subscriptions):
            subscription.offer(change)

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
        return tuple(self._subscriptions)

    def subscribe(self, subscription: Subscription, since: int | None) -> Start:
        """Register ``subscription`` and say where it starts: the changes after ``since``
        when the buffer still covers them, otherwise a resync from the current state."""
        self._settle()
        current = _version(self.informer.resource_version) or 0
        position = max(current, self._last)
        self._subscriptions.add(subscription)
        subscription.resource_version = position
        floor = self._floor
        if since is not None and floor is not None and floor <= since <= position:
            replay = [c for c in self._changes if c.resource_version and c.resource_version > since]
            return Start(False, position, replay=replay)
        return Start(True, position, snapshot=self._current(subscription.filter))

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)

    def close(self) -> None:
        """End every subscription (the server is draining)."""
        for subscription in list(self._subscriptions):
            subscription.close()
        self._subscriptions.clear()

    def _current(self, selection: WatchFilter) -> list[Any]:
        if selection.name is not None:
            obj = self.informer.get(selection.namespace, selection.name)
            found = [] if obj is None else [obj]
        else:
            found = self.informer.list(selection.namespace)
        objs = [o for o in found if selection.selects_labels(o.metadata.labels)]
        return sorted(objs, key=lambda o: (o.metadata.namespace or "", o.metadata.name))
