"""The watch cache's bookkeeping: resume points, the floor, relists, filters, overflow.

The informer here is a stand-in that calls the handler the way ``SharedInformer`` does
(handlers first, then the observed version); the real informer and HTTP are in
``tests/integration/rest/test_streams.py``.
"""

from __future__ import annotations

import builtins
import time
from types import SimpleNamespace
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from kubeweft.runtime.labels import LabelSelector
from kubeweft.views.feed import Burst
from kubeweft.views.subscription import Subscription, WatchFilter
from kubeweft.views.watchcache import WatchCache

pytestmark = pytest.mark.anyio


def obj(name: str, rv: int, namespace: str = "ns", **labels: str) -> Any:
    meta = SimpleNamespace(
        name=name, namespace=namespace, uid=f"uid-{name}", resourceVersion=str(rv), labels=labels
    )
    return SimpleNamespace(metadata=meta)


class Informer:
    """Calls the handler, then observes the version, as the shared informer does."""

    def __init__(self, version: int) -> None:
        self.resource_version: str | None = str(version)
        self.store: dict[str, Any] = {}
        self.handler: Any = None

    def add_event_handler(self, handler: Any) -> None:
        self.handler = handler

    def remove_event_handler(self, handler: Any) -> None:
        self.handler = None

    def get(self, namespace: str | None, name: str) -> Any | None:
        return self.store.get(name)

    def list(self, namespace: str | None = None, label_selector: Any = None) -> list[Any]:
        return [o for o in self.store.values() if namespace in (None, o.metadata.namespace)]

    def has_synced(self) -> bool:
        return True

    async def wait_for_resource_version(self, resource_version: str, timeout: float) -> bool:  # noqa: ASYNC109
        return False

    def modify(self, new: Any) -> None:
        old = self.store.get(new.metadata.name)
        self.store[new.metadata.name] = new
        if old is None:
            self.handler.on_add(new, False)
        else:
            self.handler.on_update(old, new)
        self.resource_version = new.metadata.resourceVersion

    def relist(self, fresh: builtins.list[Any], version: int) -> None:
        """The difference of a relist, delivered before the new version is observed."""
        old_store, self.store = self.store, {o.metadata.name: o for o in fresh}
        for o in fresh:
            before = old_store.get(o.metadata.name)
            if before is None:
                self.handler.on_add(o, False)
            elif before.metadata.resourceVersion != o.metadata.resourceVersion:
                self.handler.on_update(before, o)
        for name, gone in old_store.items():
            if name not in self.store:
                self.handler.on_delete(gone)
        self.resource_version = str(version)


def subscription(**selection: Any) -> Subscription:
    return Subscription(WatchFilter(**selection), capacity=100)


def test_a_version_the_buffer_covers_replays_exactly_what_came_after() -> None:
    informer = Informer(10)
    cache = WatchCache(informer, capacity=3)
    for rv in (11, 12, 13):
        informer.modify(obj("a", rv))
    start = cache.subscribe(subscription(), since=11)
    assert not start.resync
    assert [c.resource_version for c in start.replay] == [12, 13]
    assert start.resource_version == 13


def test_a_version_older_than_the_buffer_resyncs_with_the_current_state() -> None:
    informer = Informer(10)
    cache = WatchCache(informer, capacity=2)
    for rv in (11, 12, 13):
        informer.modify(obj("a", rv))
    assert cache.floor == 11  # 11 was dropped: a client at 10 missed it
    assert cache.subscribe(subscription(), since=11).resync is False
    start = cache.subscribe(subscription(), since=10)
    assert start.resync
    assert [o.metadata.resourceVersion for o in start.snapshot] == ["13"]


def test_after_a_relist_every_earlier_version_resyncs() -> None:
    informer = Informer(10)
    cache = WatchCache(informer, capacity=100)
    informer.modify(obj("a", 11))
    informer.modify(obj("b", 12))
    live = subscription()
    cache.subscribe(live, since=12)
    # The watch fell behind: a changed at 30, b deleted, c created at 25 (out of order).
    informer.relist([obj("a", 30), obj("c", 25)], version=40)
    assert cache.floor == 41
    assert cache.subscribe(subscription(), since=30).resync
    informer.modify(obj("a", 41))
    assert cache.subscribe(subscription(), since=41).resync is False


async def test_a_label_change_moves_an_object_into_and_out_of_a_selection() -> None:
    informer = Informer(10)
    cache = WatchCache(informer, capacity=100)
    informer.modify(obj("a", 11, tier="db"))
    selected = subscription(selector=LabelSelector.parse("tier=web"))
    cache.subscribe(selected, since=None)
    informer.modify(obj("a", 12, tier="web"))
    informer.modify(obj("a", 13, tier="web", team="x"))
    informer.modify(obj("a", 14, tier="db"))
    informer.modify(obj("a", 15, tier="db", team="y"))
    batch = await selected.take(timeout=0)
    assert batch is not None
    kinds = [(kind, change.resource_version) for kind, change in batch.changes]
    assert kinds == [("added", 12), ("modified", 13), ("deleted", 14)]
    assert await selected.take(timeout=0) is None
    assert selected.resource_version == 15  # seen, though left out


def test_a_full_buffer_overflows_and_drops_what_it_held() -> None:
    informer = Informer(10)
    cache = WatchCache(informer, capacity=100)
    slow = Subscription(WatchFilter(), capacity=3)
    cache.subscribe(slow, since=None)
    for rv in range(11, 20):
        informer.modify(obj("a", rv))
    assert slow.overflowed
    assert slow.ended.is_set()
    assert slow.high_water == 3
    (feed,) = cache.feeds
    assert feed.held <= 3  # what the feed holds stays bounded with nobody reading it


async def test_a_slow_stream_is_cut_off_while_its_feed_keeps_serving_the_others() -> None:
    informer = Informer(10)
    cache = WatchCache(informer, capacity=100)
    fast, slow = Subscription(WatchFilter(), 3), Subscription(WatchFilter(), 3)
    cache.subscribe(fast, since=None)
    cache.subscribe(slow, since=None)
    (feed,) = cache.feeds
    taken = []
    for rv in range(11, 20):
        informer.modify(obj("a", rv))
        batch = await fast.take(timeout=0)
        assert batch is not None
        taken += [change.resource_version for _, change in batch.changes]
        assert feed.held <= 3  # bounded by the slowest live cursor, whatever it was
    assert taken == list(range(11, 20))
    assert slow.overflowed
    assert not fast.overflowed
    assert (slow.high_water, fast.high_water) == (3, 1)
    cache.unsubscribe(slow)
    cache.unsubscribe(fast)
    assert cache.feeds == ()


async def test_streams_with_one_filter_share_one_feed_and_its_bytes() -> None:
    informer = Informer(10)
    cache = WatchCache(informer, capacity=100)
    cache.encode = lambda o: o.metadata.name.encode()
    same = [subscription(namespace="ns") for _ in range(3)]
    other = subscription(namespace="elsewhere")
    for each in [*same, other]:
        cache.subscribe(each, since=None)
    assert len(cache.feeds) == 2
    prepared: list[list[int | None]] = []

    async def prepare(burst: Burst) -> None:
        prepared.append([change.resource_version for _, change in burst.changes])
        burst.encode(lambda kind, change: f"{kind} {change.resource_version};".encode())

    informer.modify(obj("a", 11))
    informer.modify(obj("b", 12))
    batches = [await each.take(timeout=0, prepare=prepare) for each in same]
    assert prepared == [[11, 12]]  # once for the three streams
    sent = [batch.bursts[0].data for batch in batches if batch is not None]
    assert len({id(data) for data in sent}) == 1  # one bytes object for the three
    assert sent == [b"added 11;added 12;"] * 3
    assert await other.take(timeout=0, prepare=prepare) is None  # never offered
    # The buffer for resuming keeps the encoded part, not the object.
    assert [(c.obj, c.head) for c in cache.without_payload()] == [(None, b"a"), (None, b"b")]


async def test_a_late_producer_stretches_the_gather() -> None:
    informer = Informer(10)
    cache = WatchCache(informer, capacity=100)
    live = subscription()
    cache.subscribe(live, since=None)
    (feed,) = cache.feeds
    informer.modify(obj("a", 11))
    async with anyio.create_task_group() as tg:
        tg.start_soon(live.take, 10, 0.01)
        while feed.needs_producer():  # until the producer is asleep for its 10 ms
            await anyio.lowlevel.checkpoint()
        time.sleep(0.1)  # noqa: ASYNC251 - the event loop is held: its wake-up comes late
    assert feed.stretch == 2.0  # the next burst gathers for 20 ms


def test_other_namespaces_and_names_do_not_take_a_slot() -> None:
    informer = Informer(10)
    cache = WatchCache(informer, capacity=100)
    one = Subscription(WatchFilter("ns", "a"), capacity=1)
    cache.subscribe(one, since=None)
    for rv in range(11, 20):
        informer.modify(obj(f"other-{rv}", rv))
        informer.modify(obj("a", rv + 100, namespace="elsewhere"))
    assert not one.overflowed
    assert one.high_water == 0


async def test_take_returns_pending_changes_then_none_when_idle() -> None:
    informer = Informer(10)
    cache = WatchCache(informer, capacity=100)
    live = subscription()
    cache.subscribe(live, since=None)
    informer.modify(obj("a", 11))
    batch = await live.take(timeout=0)
    assert batch is not None
    assert [kind for kind, _ in batch.changes] == ["added"]
    assert batch.resource_version == 11
    assert await live.take(timeout=0) is None
    cache.close()
    assert live.closed
    assert await live.take(timeout=10) is None
