"""A short-lived cache of answers from Kubernetes, with one question in flight per key.

Every REST request needs a SubjectAccessReview (and a Kubernetes bearer token a
TokenReview). Asking the API server each time doubles its load and adds a round trip
to every request, so answers are kept for a few seconds: long enough that a burst of
requests from one user costs one review, short enough that a removed RoleBinding
takes effect quickly. How long depends on the answer (``ttl_for``): a denial is kept
no longer than an allow, so newly granted access shows up soon.

Identical questions that arrive while one is being asked wait for that answer instead
of asking again (singleflight coalescing), so a cold cache under a burst still costs
one review per key.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import anyio

from kubeweft.runtime.clock import Clock, RealClock

__all__ = ["ReviewCache", "ReviewCacheStats"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass
class ReviewCacheStats:
    hits: int = 0  # answered from the cache
    coalesced: int = 0  # waited for an identical review already in flight
    reviews: int = 0  # reviews actually performed


@dataclass
class _Entry(Generic[V]):
    value: V
    expires_at: float


@dataclass
class _Flight(Generic[V]):
    done: anyio.Event = field(default_factory=anyio.Event)
    finished: bool = False
    value: V | None = None
    error: Exception | None = None


class ReviewCache(Generic[K, V]):
    """Answers by key, each kept for ``ttl_for(answer)`` seconds of ``clock`` time."""

    def __init__(
        self,
        ttl_for: Callable[[V], float],
        *,
        clock: Clock | None = None,
        max_entries: int = 10_000,
    ) -> None:
        self._ttl_for = ttl_for
        self._clock: Clock = clock or RealClock()
        self._max_entries = max_entries
        # Least recently used first: a full cache drops its coldest answer in O(1).
        self._entries: OrderedDict[K, _Entry[V]] = OrderedDict()
        self._in_flight: dict[K, _Flight[V]] = {}
        self.stats = ReviewCacheStats()

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        self._entries.clear()

    async def get(self, key: K, review: Callable[[], Awaitable[V]]) -> V:
        """The cached answer for ``key``, or ``review()``'s (shared with concurrent callers).

        A review that raises is not cached; callers waiting on it get the same error.
        If the caller running the review is cancelled, a waiter takes over and asks.
        """
        while True:
            entry = self._entries.get(key)
            if entry is not None:
                if entry.expires_at > self._clock.now():
                    self.stats.hits += 1
                    self._entries.move_to_end(key)
                    return entry.value
                del self._entries[key]
            flight = self._in_flight.get(key)
            if flight is None:
                break
            self.stats.coalesced += 1
            await flight.done.wait()
            if flight.error is not None:
                raise flight.error
            if flight.finished:
                return flight.value  # type: ignore[return-value]  # set with finished
            # The asking caller was cancelled before an answer came: ask ourselves.

        flight = _Flight[V]()
        self._in_flight[key] = flight
        self.stats.reviews += 1
        try:
            value = await review()
        except Exception as error:
            flight.error = error
            raise
        else:
            flight.value, flight.finished = value, True
            self._store(key, value)
            return value
        finally:
            del self._in_flight[key]
            flight.done.set()

    def _store(self, key: K, value: V) -> None:
        ttl = self._ttl_for(value)
        if ttl <= 0:
            return
        self._entries[key] = _Entry(value, self._clock.now() + ttl)
        self._entries.move_to_end(key)
        # No scan for expired entries (that made every insert O(n) once full, which a
        # stream of distinct keys could force); expired ones age out like cold ones.
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
