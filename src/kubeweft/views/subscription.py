"""One client's share of a watch cache: what it asked to see, and a bounded buffer.

The watch cache offers every change to every subscription synchronously, from the
informer's task, so offering must never wait: a subscription keeps the changes its
client has not been sent yet in a buffer of ``capacity`` entries. When a client reads
too slowly to keep the buffer from filling, the subscription *overflows*: the buffer is
dropped at once (memory stays bounded by ``capacity`` whatever the client does) and the
stream ends with a resync event — the client's view has a gap, and it must say so rather
than silently skip changes. Kubernetes' watch cache treats an unresponsive watcher the
same way (it closes the watch; the client relists).

A subscription filters by namespace, name and label selector before buffering, so
changes elsewhere never take a slot. A label change that moves an object into or out of
the selection is offered as ``added`` or ``deleted``, as a Kubernetes watch with a label
selector does.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio

from kubeweft.runtime.labels import LabelSelector

if TYPE_CHECKING:
    from kubeweft.views.watchcache import Change

__all__ = ["Batch", "Subscription", "WatchFilter"]


@dataclass(frozen=True)
class WatchFilter:
    """What a stream shows: one namespace (None: all), one name, a label selector."""

    namespace: str | None = None
    name: str | None = None
    selector: LabelSelector | None = None

    def selects_key(self, obj: Any) -> bool:
        meta = obj.metadata
        if self.namespace is not None and (meta.namespace or None) != self.namespace:
            return False
        return self.name is None or meta.name == self.name

    def selects_labels(self, labels: Any) -> bool:
        return self.selector is None or self.selector.matches(labels or {})


@dataclass(frozen=True)
class Batch:
    """Changes taken from a subscription, and the resourceVersion the client has then
    seen everything up to (including changes the filter left out)."""

    changes: list[tuple[str, Change]]
    resource_version: int | None


@dataclass(eq=False)
class Subscription:
    """A client's filter, its pending changes (at most ``capacity``) and its end state."""

    filter: WatchFilter
    capacity: int
    #: The resourceVersion the client has seen everything up to (the last offered).
    resource_version: int | None = None
    #: The most changes the buffer ever held (never above ``capacity``).
    high_water: int = 0
    overflowed: bool = False
    closed: bool = False
    ended: anyio.Event = field(default_factory=anyio.Event)
    _pending: deque[tuple[str, Change]] = field(default_factory=deque)
    _wakeup: anyio.Event = field(default_factory=anyio.Event)

    def offer(self, change: Change) -> None:
        """Buffer ``change`` if the filter selects it; never waits."""
        if self.overflowed or self.closed:
            return
        if change.resource_version is not None:
            self.resource_version = change.resource_version
        kind = self.event_for(change)
        if kind is None:
            return
        if len(self._pending) >= self.capacity:
            self.overflowed = True
            self._pending.clear()
            self.ended.set()
            self._wake()
            return
        self._pending.append((kind, change))
        self.high_water = max(self.high_water, len(self._pending))
        self._wake()

    def event_for(self, change: Change) -> str | None:
        """The event this client gets for ``change``, or None."""
        if not self.filter.selects_key(change.obj):
            return None
        now = self.filter.selects_labels(change.obj.metadata.labels)
        if change.type != "modified" or self.filter.selector is None:
            return change.type if now else None
        before = self.filter.selects_labels(change.old_labels)
        if now:
            return "modified" if before else "added"
        return "deleted" if before else None

    async def take(self, timeout: float, gather: float = 0.0) -> Batch | None:  # noqa: ASYNC109
        """The pending changes; None after ``timeout`` seconds with none, or once the
        subscription has overflowed or closed (see ``overflowed`` and ``closed``).

        Once a change is pending, ``gather`` seconds more let the rest of a burst join
        it: a client is written to once per burst rather than once per change, which is
        what keeps hundreds of streams cheap when objects change a hundred times a
        second. After an idle None the client has been sent everything up to
        ``resource_version``: a heartbeat may carry it as the resume point.
        """
        with anyio.move_on_after(timeout):
            while not (self._pending or self.overflowed or self.closed):
                if self._wakeup.is_set():
                    self._wakeup = anyio.Event()
                await self._wakeup.wait()
        if gather and self._pending and not (self.overflowed or self.closed):
            await anyio.sleep(gather)
        if self.overflowed or self.closed or not self._pending:
            return None
        changes = list(self._pending)
        self._pending.clear()
        return Batch(changes, self.resource_version)

    def close(self) -> None:
        """End the subscription (server drain, or the client went away)."""
        self.closed = True
        self._pending.clear()
        self.ended.set()
        self._wake()

    def _wake(self) -> None:
        if not self._wakeup.is_set():
            self._wakeup.set()
