"""Time as the work queue and rate limiters see it, injectable so tests are exact.

Backoff and delayed adds are all about time. Reading it through a small ``Clock``
protocol lets unit tests drive time by hand with ``FakeClock`` (as client-go's tests use
``clock/testing``) instead of sleeping and hoping the scheduler was quick enough.
"""

from __future__ import annotations

import heapq
import itertools
import time
from typing import Protocol

import anyio
from anyio.lowlevel import checkpoint

__all__ = ["Clock", "FakeClock", "RealClock"]


class Clock(Protocol):
    def now(self) -> float:
        """Monotonic seconds."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class RealClock:
    """The process's monotonic clock and anyio's sleep."""

    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)


class FakeClock:
    """A clock that moves only when ``advance`` is called; sleepers wake when it passes."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._sleepers: list[tuple[float, int, anyio.Event]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await checkpoint()
            return
        event = anyio.Event()
        heapq.heappush(self._sleepers, (self._now + seconds, next(self._seq), event))
        await event.wait()

    @property
    def sleepers(self) -> int:
        """How many sleeps are pending (tests use it to know a waiter has parked)."""
        return sum(1 for _, _, e in self._sleepers if not e.is_set())

    def advance(self, seconds: float) -> None:
        self._now += seconds
        while self._sleepers and self._sleepers[0][0] <= self._now:
            _, _, event = heapq.heappop(self._sleepers)
            event.set()
