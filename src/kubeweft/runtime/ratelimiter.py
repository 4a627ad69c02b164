"""How long a key waits before it is retried: client-go's rate limiters.

Two limits combine in controller-runtime's default. Per key, an exponential backoff
(5 ms, 10 ms, 20 ms ... capped at 1000 s) keeps one broken object from spinning; over
the whole queue, a token bucket (10 per second, bursts of 100) keeps a storm of failures
from hammering the API server. ``MaxOf`` takes the longer wait of the two. A limiter
only computes delays; the work queue does the waiting.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from typing import Protocol

from kubeweft.runtime.clock import Clock, RealClock

__all__ = [
    "BucketRateLimiter",
    "ItemExponentialFailureRateLimiter",
    "MaxOfRateLimiter",
    "RateLimiter",
    "default_controller_rate_limiter",
]


class RateLimiter(Protocol):
    def when(self, item: Hashable) -> float:
        """Seconds the item should wait before its next attempt; records the attempt."""
        ...

    def forget(self, item: Hashable) -> None:
        """The item succeeded: clear its failure history."""
        ...

    def num_requeues(self, item: Hashable) -> int: ...


class ItemExponentialFailureRateLimiter:
    """``base * 2**failures`` seconds per item, capped at ``cap``."""

    def __init__(self, base: float = 0.005, cap: float = 1000.0) -> None:
        if base <= 0 or cap < base:
            raise ValueError("need 0 < base <= cap")
        self.base = base
        self.cap = cap
        self._failures: dict[Hashable, int] = {}
        self._max_exponent = math.ceil(math.log2(cap / base))

    def when(self, item: Hashable) -> float:
        failures = self._failures.get(item, 0)
        self._failures[item] = failures + 1
        if failures > self._max_exponent:  # also keeps 2.0**failures from overflowing
            return self.cap
        return min(self.base * 2.0**failures, self.cap)

    def forget(self, item: Hashable) -> None:
        self._failures.pop(item, None)

    def num_requeues(self, item: Hashable) -> int:
        return self._failures.get(item, 0)


class BucketRateLimiter:
    """A token bucket over all items (golang.org/x/time/rate's ``Reserve`` semantics).

    The bucket holds up to ``burst`` tokens and refills at ``qps``. Each call takes a
    token; when none is left the reservation goes into debt and the caller waits until
    the debt is repaid, so reservations queue up fairly instead of all firing at once.
    """

    def __init__(self, qps: float = 10.0, burst: int = 100, clock: Clock | None = None) -> None:
        if qps <= 0 or burst < 1:
            raise ValueError("need qps > 0 and burst >= 1")
        self.qps = qps
        self.burst = burst
        self._clock = clock or RealClock()
        self._tokens = float(burst)
        self._last = self._clock.now()

    def when(self, item: Hashable) -> float:
        now = self._clock.now()
        self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.qps)
        self._last = now
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.qps

    def forget(self, item: Hashable) -> None:
        """The bucket is shared by all items; there is nothing per item to forget."""

    def num_requeues(self, item: Hashable) -> int:
        return 0


class MaxOfRateLimiter:
    """The longest delay any of its limiters asks for."""

    def __init__(self, *limiters: RateLimiter) -> None:
        if not limiters:
            raise ValueError("MaxOfRateLimiter needs at least one limiter")
        self.limiters = limiters

    def when(self, item: Hashable) -> float:
        # Every limiter must record the attempt, so no short-circuiting.
        return max([limiter.when(item) for limiter in self.limiters])

    def forget(self, item: Hashable) -> None:
        for limiter in self.limiters:
            limiter.forget(item)

    def num_requeues(self, item: Hashable) -> int:
        return max(limiter.num_requeues(item) for limiter in self.limiters)


def default_controller_rate_limiter(
    *,
    base: float = 0.005,
    cap: float = 1000.0,
    qps: float = 10.0,
    burst: int = 100,
    clock: Clock | None = None,
) -> MaxOfRateLimiter:
    """controller-runtime's default: max(per-item exponential, overall token bucket)."""
    return MaxOfRateLimiter(
        ItemExponentialFailureRateLimiter(base, cap), BucketRateLimiter(qps, burst, clock)
    )
