"""One stream's share of a watch cache: what it asked to see, and how far it has read.

The watch cache offers every change synchronously, from the informer's task, so
offering must never wait. Streams with the same filter share one ``views.feed.Feed``:
the feed holds their changes, framed once, and a subscription is a cursor into it.
When a client reads too slowly, its cursor falls ``capacity`` changes behind and the
subscription *overflows*: it is cut off at once (memory stays bounded by the feed's
``capacity`` whatever the client does) and the stream ends with a resync event — the
client's view has a gap, and it must say so rather than silently skip changes.
Kubernetes' watch cache treats an unresponsive watcher the same way (it closes the
watch; the client relists).

A filter selects by namespace, name and label selector before anything is held, so
changes elsewhere never take a slot. A label change that moves an object into or out
of the selection is offered as ``added`` or ``deleted``, as a Kubernetes watch with a
label selector does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import anyio

from kubeweft.runtime.labels import LabelSelector

if TYPE_CHECKING:
    from kubeweft.views.feed import Burst, Feed, Prepare
    from kubeweft.views.watchcache import Change

__all__ = ["Batch", "Subscription", "WatchFilter"]


@dataclass(frozen=True)
class WatchFilter:
    """What a stream shows: one namespace (None: all), one name, a label selector."""

    namespace: str | None = None
    name: str | None = None
    selector: LabelSelector | None = None

    def selects_key(self, namespace: str | None, name: str) -> bool:
        if self.namespace is not None and namespace != self.namespace:
            return False
        return self.name is None or name == self.name

    def selects_labels(self, labels: Mapping[str, str] | None) -> bool:
        return self.selector is None or self.selector.matches(labels or {})

    def event_for(self, change: Change) -> str | None:
        """The event a stream with this filter gets for ``change``, or None."""
        if not self.selects_key(change.namespace, change.name):
            return None
        now = self.selects_labels(change.labels)
        if change.type != "modified" or self.selector is None:
            return change.type if now else None
        before = self.selects_labels(change.old_labels)
        if now:
            return "modified" if before else "added"
        return "deleted" if before else None


@dataclass(frozen=True)
class Batch:
    """Bursts taken from a feed, and the resourceVersion the client has then seen
    everything up to (including changes the filter left out)."""

    bursts: list[Burst]
    resource_version: int | None

    @property
    def changes(self) -> list[tuple[str, Change]]:
        return [change for burst in self.bursts for change in burst.changes]


@dataclass(eq=False)
class Subscription:
    """A stream's filter, its cursor into the feed of that filter, and its end state."""

    filter: WatchFilter
    capacity: int
    #: The resourceVersion the client has seen everything up to.
    resource_version: int | None = None
    #: The most changes that ever waited for this client (never above ``capacity``).
    high_water: int = 0
    overflowed: bool = False
    closed: bool = False
    ended: anyio.Event = field(default_factory=anyio.Event)
    #: The feed it reads (set by the watch cache while subscribed), and how far.
    feed: Feed | None = None
    position: int = 0
    _wakeup: anyio.Event = field(default_factory=anyio.Event)

    def event_for(self, change: Change) -> str | None:
        """The event this client gets for ``change``, or None."""
        return self.filter.event_for(change)

    async def take(
        self,
        timeout: float,  # noqa: ASYNC109
        gather: float = 0.0,
        prepare: Prepare | None = None,
    ) -> Batch | None:
        """The bursts this client has not been sent yet; None after ``timeout`` seconds
        with none, or once the subscription has overflowed or closed (see ``overflowed``
        and ``closed``).

        Once a change is pending, ``gather`` seconds more (stretched under load, see
        ``views.feed``) let the rest of a burst join it, and ``prepare`` fills the
        burst's data: whichever stream of the feed gets there first does both, for all
        of them. After an idle None the client has been sent everything up to
        ``resource_version``: a heartbeat may carry it as the resume point.
        """
        feed = self.feed
        if feed is None:
            return None
        deadline = anyio.current_time() + timeout
        while not self._ended and feed.ready_end <= self.position:
            if feed.needs_producer():
                await feed.produce(gather, prepare)  # not cut short by the heartbeat
                continue
            if self._wakeup.is_set():
                self._wakeup = anyio.Event()
                continue
            with anyio.move_on_at(deadline):
                await self._wakeup.wait()
            if anyio.current_time() >= deadline:
                break
        if self._ended:
            return None
        if feed.ready_end <= self.position:
            if feed.appended == self.position and self.resource_version is not None:
                # Nothing selected is waiting: the client has seen all the cache has.
                self.resource_version = max(self.resource_version, feed.seen())
            return None
        self.high_water = max(self.high_water, feed.appended - self.position)
        bursts = feed.ready_after(self.position)
        self.position = feed.ready_end
        newest = next((v for b in reversed(bursts) if (v := b.resource_version)), None)
        if newest is not None:
            self.resource_version = max(self.resource_version or 0, newest)
        return Batch(bursts, self.resource_version)

    @property
    def _ended(self) -> bool:
        return self.overflowed or self.closed

    def overflow(self) -> None:
        """Cut off: the client fell more than ``capacity`` changes behind."""
        self.overflowed = True
        self.ended.set()
        self.wake()

    def close(self) -> None:
        """End the subscription (server drain, or the client went away)."""
        self.closed = True
        self.ended.set()
        self.wake()

    def wake(self) -> None:
        if not self._wakeup.is_set():
            self._wakeup.set()
