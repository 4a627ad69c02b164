"""The work queue between events and reconciles, with client-go's semantics.

Events arrive far faster than reconciles finish, and a reconciler only needs to know
*which* object to look at, never how many times it changed. So the queue holds keys:

* a key is queued at most once — adding a queued key is a no-op (dedup);
* a key being processed is never handed to a second worker; if it is added meanwhile
  it is marked dirty and queued again when the worker calls ``done`` — so a change that
  lands during a reconcile is never lost and never processed concurrently;
* ``add_after`` parks a key until a deadline (earliest deadline wins for duplicates);
  ``add_rate_limited`` asks the rate limiter how long, which gives per-key backoff;
* keys added with ``low_priority`` (an informer's initial list, as controller-runtime's
  priority queue does) are handed out only when no normal key waits, so real changes
  are not stuck behind a relist of thousands of objects;
* ``shut_down`` stops intake; workers still get what is queued and finish what is in
  flight; ``shut_down_with_drain`` also waits for every in-flight key to be ``done``.

The queue runs no task of its own: delayed keys are promoted by whichever ``get`` is
waiting, with a timeout at the earliest deadline.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Hashable
from typing import Final, Generic, TypeVar

import anyio
from prometheus_client.metrics import Counter, Histogram

from kubeweft.runtime import metrics
from kubeweft.runtime.clock import Clock, RealClock
from kubeweft.runtime.ratelimiter import RateLimiter, default_controller_rate_limiter

__all__ = ["QueueShutDown", "RateLimitingQueue"]

K = TypeVar("K", bound=Hashable)


class QueueShutDown(Exception):
    """``get`` on a queue that is shut down and has nothing left to hand out."""


class _Empty:
    pass


_EMPTY: Final = _Empty()


class _QueueMetrics:
    """The queue's collectors, resolved once per queue (label lookups are not free)."""

    def __init__(self, name: str) -> None:
        self.adds: Counter = metrics.WORKQUEUE_ADDS.labels(name)
        self.retries: Counter = metrics.WORKQUEUE_RETRIES.labels(name)
        self.queue_duration: Histogram = metrics.WORKQUEUE_QUEUE_DURATION.labels(name)
        self.work_duration: Histogram = metrics.WORKQUEUE_WORK_DURATION.labels(name)


class RateLimitingQueue(Generic[K]):
    """A deduplicating, rate-limited, delaying work queue of keys (client-go's ``Typed``)."""

    def __init__(
        self,
        name: str = "",
        *,
        rate_limiter: RateLimiter | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.name = name
        self._clock = clock or RealClock()
        self.rate_limiter: RateLimiter = rate_limiter or default_controller_rate_limiter(
            clock=self._clock
        )
        # Queued keys -> low priority?  The deques may hold stale entries (a low key
        # raised to normal stays in ``_low``); ``_queued`` is the truth.
        self._queued: dict[K, bool] = {}
        self._normal: deque[K] = deque()
        self._low: deque[K] = deque()
        # Keys being processed -> when they were handed out.
        self._processing: dict[K, float] = {}
        # Keys added while being processed -> low priority?  Queued again on ``done``.
        self._dirty: dict[K, bool] = {}
        self._added_at: dict[K, float] = {}
        # Delayed keys: key -> deadline, plus a heap that may hold stale deadlines.
        self._waiting: dict[K, float] = {}
        self._heap: list[tuple[float, int, K]] = []
        self._seq = itertools.count()
        self._getters = 0
        self._changed = anyio.Event()
        self._drained = anyio.Event()
        self._shutting_down = False
        self._metrics = _QueueMetrics(name) if name else None
        if name:
            self._register_gauges(name)

    # --- intake -------------------------------------------------------------------

    def add(self, key: K, *, low_priority: bool = False) -> None:
        """Queue ``key`` unless it is already queued; ignored after ``shut_down``."""
        if self._shutting_down:
            return
        if key in self._processing:
            previous = self._dirty.get(key)
            if previous is None:
                self._count_add(key)
                self._dirty[key] = low_priority
            elif previous and not low_priority:
                self._dirty[key] = False
            return
        queued_low = self._queued.get(key)
        if queued_low is None:
            self._count_add(key)
            self._enqueue(key, low_priority)
        elif queued_low and not low_priority:
            # A real change to a key queued by the initial list: move it to the front line.
            self._queued[key] = False
            self._normal.append(key)

    def add_after(self, key: K, delay: float) -> None:
        """Queue ``key`` after ``delay`` seconds; an earlier pending deadline wins."""
        if self._shutting_down:
            return
        if delay <= 0:
            self.add(key)
            return
        deadline = self._clock.now() + delay
        current = self._waiting.get(key)
        if current is not None and current <= deadline:
            return
        self._waiting[key] = deadline
        heapq.heappush(self._heap, (deadline, next(self._seq), key))
        self._notify()  # waiting getters must shorten their timeout

    def add_rate_limited(self, key: K) -> None:
        """Queue ``key`` after the delay the rate limiter gives it (a retry)."""
        if self._shutting_down:
            return
        if self._metrics:
            self._metrics.retries.inc()
        self.add_after(key, self.rate_limiter.when(key))

    def forget(self, key: K) -> None:
        """Clear ``key``'s backoff history: the next failure starts from the base delay."""
        self.rate_limiter.forget(key)

    def num_requeues(self, key: K) -> int:
        return self.rate_limiter.num_requeues(key)

    # --- processing ---------------------------------------------------------------

    async def get(self) -> K:
        """The next key, waiting for one; the key is processing until ``done(key)``.

        Raises ``QueueShutDown`` once the queue is shut down and has nothing queued.
        """
        while True:
            self._promote_due()
            key = self._pop()
            if not isinstance(key, _Empty):
                return key
            if self._shutting_down:
                raise QueueShutDown(self.name)
            changed = self._changed
            self._getters += 1
            try:
                delay = self._next_delay()
                if delay is None:
                    await changed.wait()
                else:
                    await self._wait(changed, delay)
            finally:
                self._getters -= 1

    def done(self, key: K) -> None:
        """Processing of ``key`` finished; queue it again if it was added meanwhile."""
        started = self._processing.pop(key, None)
        if started is None:
            return
        if self._metrics:
            self._metrics.work_duration.observe(self._clock.now() - started)
        low = self._dirty.pop(key, None)
        if low is not None:
            self._enqueue(key, low)
        if not self._processing and self._shutting_down:
            self._drained.set()

    # --- shutdown -----------------------------------------------------------------

    def shut_down(self) -> None:
        """Stop intake and drop delayed keys; queued keys are still handed out."""
        self._shutting_down = True
        self._waiting.clear()
        self._heap.clear()
        if not self._processing:
            self._drained.set()
        self._notify(force=True)

    async def shut_down_with_drain(self) -> None:
        """``shut_down``, then wait until every key handed out has been ``done``."""
        self.shut_down()
        await self._drained.wait()

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    def __len__(self) -> int:
        """Keys ready to be handed out (delayed keys whose deadline passed included)."""
        self._promote_due()
        return len(self._queued)

    def len(self) -> int:
        """client-go's spelling of ``len(queue)``."""
        return len(self)

    @property
    def processing(self) -> int:
        return len(self._processing)

    @property
    def delayed(self) -> int:
        return len(self._waiting)

    # --- internals ----------------------------------------------------------------

    def _count_add(self, key: K) -> None:
        if self._metrics:
            self._metrics.adds.inc()
            self._added_at.setdefault(key, self._clock.now())

    def _enqueue(self, key: K, low: bool) -> None:
        self._queued[key] = low
        (self._low if low else self._normal).append(key)
        self._notify()

    def _pop(self) -> K | _Empty:
        for line, want_low in ((self._normal, False), (self._low, True)):
            while line:
                key = line.popleft()
                if self._queued.get(key) is want_low:
                    del self._queued[key]
                    now = self._clock.now()
                    self._processing[key] = now
                    if self._metrics:
                        added = self._added_at.pop(key, None)
                        if added is not None:
                            self._metrics.queue_duration.observe(now - added)
                    return key
        return _EMPTY

    def _promote_due(self) -> None:
        if not self._heap:
            return
        now = self._clock.now()
        while self._heap and self._heap[0][0] <= now:
            deadline, _, key = heapq.heappop(self._heap)
            if self._waiting.get(key) == deadline:
                del self._waiting[key]
                self.add(key)

    def _next_delay(self) -> float | None:
        while self._heap and self._waiting.get(self._heap[0][2]) != self._heap[0][0]:
            heapq.heappop(self._heap)  # stale: superseded by an earlier deadline
        if not self._heap:
            return None
        return max(0.0, self._heap[0][0] - self._clock.now())

    async def _wait(self, changed: anyio.Event, delay: float) -> None:
        if isinstance(self._clock, RealClock):
            with anyio.move_on_after(delay):
                await changed.wait()
            return
        async with anyio.create_task_group() as tg:

            async def timer() -> None:
                await self._clock.sleep(delay)
                tg.cancel_scope.cancel()

            tg.start_soon(timer)
            await changed.wait()
            tg.cancel_scope.cancel()

    def _notify(self, *, force: bool = False) -> None:
        if self._getters or force:
            self._changed.set()
            self._changed = anyio.Event()

    def _register_gauges(self, name: str) -> None:
        # Computed when scraped, so a reconcile that hangs still shows up as growing.
        metrics.WORKQUEUE_DEPTH.labels(name).set_function(lambda: len(self._queued))
        metrics.WORKQUEUE_UNFINISHED_WORK.labels(name).set_function(self._unfinished_work)
        metrics.WORKQUEUE_LONGEST_RUNNING.labels(name).set_function(self._longest_running)

    def _unfinished_work(self) -> float:
        now = self._clock.now()
        return sum(now - started for started in tuple(self._processing.values()))

    def _longest_running(self) -> float:
        starts = tuple(self._processing.values())
        return self._clock.now() - min(starts) if starts else 0.0
