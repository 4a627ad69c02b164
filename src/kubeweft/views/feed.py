"""A feed: the changes one stream filter selects, framed once for every stream with it.

Two hundred browsers showing one namespace ask for the same thing. Offering every
change to every stream, and having each stream gather and frame its own burst, cost
the process work per change *and per stream*. A feed does that work once per filter:

* the watch cache offers a change only to the feeds whose filter may select it (found
  by name and namespace, not by trying every stream); the feed decides the event (a
  label selector turns a label change into ``added`` or ``deleted``) and appends it;
* one of its streams — whichever asks first, so no task outlives the streams — lets a
  burst gather, has its changes' data filled (one database read per burst, see
  ``rest.streambodies``) and framed into one block of bytes (``Burst.data``);
* every stream of the feed then writes that same block: per burst and per stream, one
  wake-up and one write.

Each stream is a cursor into the feed (``Subscription.position``, a count of the feed's
changes). The feed keeps the bursts some cursor has not taken yet, and at most
``capacity`` changes beyond a cursor: a stream whose client reads so slowly that it
falls further behind is cut off (``overflowed``), so memory stays bounded by
``capacity`` per feed whatever the clients do, and does not grow with the number of
streams.

The gather interval stretches when the process is late: if the producer's sleep ends
later than asked by more than the sleep itself (the event loop is saturated, or the
process waits for a CPU), the next burst gathers twice as long, up to ``MAX_STRETCH``
times the base; fewer, larger bursts cost fewer wake-ups and writes per change. It
halves again after a sleep that ends within that margin.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import anyio

if TYPE_CHECKING:
    from kubeweft.views.subscription import Subscription, WatchFilter
    from kubeweft.views.watchcache import Change

__all__ = ["MAX_STRETCH", "Burst", "Feed"]

#: The gather interval grows to at most this many times the base under load.
MAX_STRETCH = 8.0


@dataclass(eq=False)
class Burst:
    """Consecutive changes of a feed, ``[start, end)`` in its count, sent as one write."""

    start: int
    end: int
    changes: list[tuple[str, Change]]
    ready: bool = False
    #: The framed events, joined: what a stream that may see every namespace writes.
    data: bytes = b""
    #: Each framed event with its object's namespace, for a stream that may not.
    frames: list[tuple[str | None, bytes]] = field(default_factory=list)

    #: The namespaces of its objects, and the newest resourceVersion among its changes.
    namespaces: frozenset[str | None] = frozenset()
    resource_version: int | None = None

    def __post_init__(self) -> None:
        self.namespaces = frozenset(change.namespace for _, change in self.changes)
        versions = [c.resource_version for _, c in self.changes if c.resource_version is not None]
        self.resource_version = max(versions, default=None)

    def encode(self, frame: Callable[[str, Change], bytes]) -> None:
        """Frame every change once (``frame(event, change)``) for every stream."""
        self.frames = [(change.namespace, frame(kind, change)) for kind, change in self.changes]
        self.data = b"".join(framed for _, framed in self.frames)


#: Fills a burst's data before it is sent (``Burst.encode`` after the database read).
Prepare = Callable[[Burst], Awaitable[None]]


class Feed:
    """The changes of one filter as bursts, and the cursors of the streams that read them."""

    def __init__(self, selection: WatchFilter, capacity: int, seen: Callable[[], int]) -> None:
        self.filter = selection
        self.capacity = capacity
        #: The version the watch cache has offered everything up to.
        self.seen = seen
        self._subscriptions: set[Subscription] = set()
        self._pending: list[tuple[str, Change]] = []
        self._bursts: deque[Burst] = deque()
        self._appended = 0  # changes ever appended
        self._sealed = 0  # of which in bursts
        self._ready = 0  # of which in ready bursts (always a prefix)
        self._oldest = 0  # no live cursor is behind this (may be stale, never too high)
        self._producing = False
        self.stretch = 1.0
        #: Bursts sealed so far (a benchmark reads changes per burst from it).
        self.burst_count = 0

    # --- the watch cache's side (synchronous, never blocks) ---------------------------------
    def offer(self, change: Change) -> None:
        kind = self.filter.event_for(change)
        if kind is None:
            return
        first = not self._pending
        self._pending.append((kind, change))
        self._appended += 1
        if self._appended - self._oldest > self.capacity:
            self._trim()
        if first:
            self._call_producer()

    @property
    def subscriptions(self) -> set[Subscription]:
        return self._subscriptions

    @property
    def held(self) -> int:
        """Changes the feed holds (pending or in bursts): at most about ``capacity``."""
        return len(self._pending) + sum(len(b.changes) for b in self._bursts)

    def attach(self, subscription: Subscription) -> None:
        """Add a cursor at the end: it gets the changes offered from now on."""
        self._seal()  # so that the cursor starts at a burst's edge
        subscription.feed = self
        subscription.position = self._sealed
        self._subscriptions.add(subscription)

    def detach(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)
        subscription.feed = None
        if self.needs_producer():
            self._call_producer()

    # --- the streams' side ----------------------------------------------------------------
    def ready_after(self, position: int) -> list[Burst]:
        """The ready bursts past ``position``, oldest first: read from the newest end,
        since a cursor that keeps up wants only the last one or two."""
        found = []
        for burst in reversed(self._bursts):
            if burst.end <= position:
                break
            if burst.ready:
                found.append(burst)
        return found[::-1]

    @property
    def ready_end(self) -> int:
        return self._ready

    @property
    def appended(self) -> int:
        return self._appended

    def needs_producer(self) -> bool:
        return not self._producing and bool(self._pending or self._ready < self._sealed)

    async def produce(self, gather: float, prepare: Prepare | None) -> None:
        """Gather the pending changes for ``gather`` seconds (stretched under load),
        seal them into a burst, prepare every burst not ready yet, and wake the cursors."""
        self._producing = True
        try:
            if self._pending and gather:
                delay = gather * self.stretch
                asked = anyio.current_time()
                await anyio.sleep(delay)
                late = anyio.current_time() - asked - delay
                if late > delay:
                    self.stretch = min(MAX_STRETCH, self.stretch * 2)
                else:
                    self.stretch = max(1.0, self.stretch / 2)
            self._seal()
            for burst in list(self._bursts):
                if not burst.ready:
                    if prepare is not None:
                        await prepare(burst)
                    burst.ready = True
                    self._ready = max(self._ready, burst.end)
            if all(burst.ready for burst in self._bursts):
                self._ready = self._sealed
        finally:
            self._producing = False
            if self.needs_producer():
                self._call_producer()
        for subscription in self._subscriptions:
            subscription.wake()

    # --- internals ------------------------------------------------------------------------
    def _seal(self) -> None:
        if self._pending:
            end = self._sealed + len(self._pending)
            self._bursts.append(Burst(self._sealed, end, self._pending))
            self.burst_count += 1
            self._pending = []
            self._sealed = end

    def _live(self) -> Iterator[Subscription]:
        return (s for s in self._subscriptions if not (s.overflowed or s.closed))

    def _call_producer(self) -> None:
        """Wake one stream: the next to look will see work and produce the burst."""
        for subscription in self._live():
            subscription.wake()
            return

    def _trim(self) -> None:
        """Cut off the cursors more than ``capacity`` behind; drop what no cursor needs."""
        oldest = self._appended
        for subscription in list(self._live()):
            behind = self._appended - subscription.position
            if behind > self.capacity:
                # It had ``capacity`` waiting when one more came: cut off.
                subscription.high_water = max(subscription.high_water, behind - 1)
                subscription.overflow()
            else:
                subscription.high_water = max(subscription.high_water, behind)
                oldest = min(oldest, subscription.position)
        self._oldest = oldest
        while self._bursts and self._bursts[0].end <= oldest:
            self._bursts.popleft()
        if oldest == self._appended:  # no cursor left to read what is pending
            self._pending = []
            self._sealed = self._ready = oldest
