"""A budget for reviews the cache cannot answer: how many at once, and how many a second.

Every bearer token nobody has presented before costs one TokenReview, and anyone can
make up tokens: without a bound, a flood of bogus tokens becomes a flood of
TokenReviews, which queues behind itself on the API server and on our own connections.
The budget turns that into a cheap refusal: a token bucket bounds the rate (``rate``
per second, bursts of ``burst``) and a semaphore bounds how many are in flight
(``concurrency``). A review that finds the bucket empty is not sent; the caller gets
:class:`ReviewBudgetExhausted`, which the REST layer answers with 503 and
``Retry-After`` — the credentials were not refused, they could not be checked yet.

Tokens already answered (cached allows and refusals) never touch the budget, so callers
with known tokens keep working during a flood.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import structlog

from kubeweft.auth.identity import ReviewUnavailable
from kubeweft.runtime.clock import Clock, RealClock

__all__ = ["ReviewBudget", "ReviewBudgetExhausted", "TokenBucket"]

log = structlog.get_logger(__name__)

# A flood must not become a flood of log lines: one warning per this many seconds.
_LOG_INTERVAL = 10.0


class ReviewBudgetExhausted(ReviewUnavailable):
    """Too many reviews asked for right now; retry after ``retry_after`` seconds."""


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up; ``take`` never waits."""

    def __init__(self, rate: float, burst: int, *, clock: Clock) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a token bucket needs rate > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._last = clock.now()

    def _refill(self) -> None:
        now = self._clock.now()
        self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.rate)
        self._last = now

    def take(self) -> bool:
        self._refill()
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    def wait_time(self) -> float:
        """Seconds until the next token (0 if one is there)."""
        self._refill()
        return max(0.0, (1.0 - self._tokens) / self.rate)


class ReviewBudget:
    def __init__(
        self,
        *,
        concurrency: int = 8,
        rate: float = 20.0,
        burst: int = 40,
        clock: Clock | None = None,
    ) -> None:
        self._clock = clock or RealClock()
        self._bucket = TokenBucket(rate, burst, clock=self._clock)
        self._in_flight = anyio.CapacityLimiter(concurrency)
        self.refused = 0  # reviews not sent because the budget was spent
        self._logged_at: float | None = None
        self._refused_at_log = 0

    @property
    def concurrency(self) -> int:
        return int(self._in_flight.total_tokens)

    @asynccontextmanager
    async def spend(self) -> AsyncIterator[None]:
        """One review's worth of budget, or :class:`ReviewBudgetExhausted` at once.

        The rate is checked before waiting for a concurrency slot, so at most the
        bucket's burst plus its rate times the review latency can queue here.
        """
        if not self._bucket.take():
            self.refused += 1
            self._warn()
            error = ReviewBudgetExhausted("too many token reviews right now")
            error.retry_after = max(1.0, math.ceil(self._bucket.wait_time()))
            raise error
        async with self._in_flight:
            yield

    def _warn(self) -> None:
        now = self._clock.now()
        if self._logged_at is not None and now - self._logged_at < _LOG_INTERVAL:
            return
        log.warning(
            "review budget spent: reviews refused with 503",
            refused_since_last_warning=self.refused - self._refused_at_log,
            rate=self._bucket.rate,
            burst=self._bucket.burst,
        )
        self._logged_at, self._refused_at_log = now, self.refused
