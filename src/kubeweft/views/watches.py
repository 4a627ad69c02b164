"""Every model's watch cache, the open streams per user, and the drain switch.

The process builds one :class:`Watches` over the informers it already runs. Streams are
long-lived, so two things are bounded here rather than per request: how many streams
one user holds open (``max_per_user``; the next is refused), and whether new streams
are accepted at all — on drain every subscription is ended, so the HTTP server's
graceful shutdown is not held up by connections that would never finish on their own.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from kubeweft.views.watchcache import WatchCache, WatchedInformer

__all__ = ["StreamLimits", "TooManyStreams", "Watches", "WatchesClosed"]


class TooManyStreams(Exception):
    """The user already holds ``limit`` open streams."""

    def __init__(self, user: str, limit: int) -> None:
        super().__init__(f"{user} already has {limit} open streams")
        self.user = user
        self.limit = limit


class WatchesClosed(Exception):
    """The server is draining: no new streams."""


@dataclass(frozen=True)
class StreamLimits:
    """``replay``: changes kept per model for resuming; ``client_buffer``: changes kept
    per stream for a client that reads slowly; ``max_per_user``: open streams per user;
    ``heartbeat``: seconds between heartbeats of an idle stream; ``gather``: how long a
    stream lets a burst of changes gather before writing them in one go."""

    replay: int = 4096
    client_buffer: int = 256
    max_per_user: int = 10
    heartbeat: float = 15.0
    gather: float = 0.05


class Watches:
    """The watch caches of an application's models, with per-user stream accounting."""

    def __init__(self, informers: Mapping[type[Any], WatchedInformer], limits: StreamLimits):
        self.limits = limits
        self._caches = {model: WatchCache(inf, limits.replay) for model, inf in informers.items()}
        self._open: Counter[str] = Counter()
        self.closed = False

    def cache_for(self, model: type[Any]) -> WatchCache:
        return self._caches[model]

    def open_streams(self, user: str) -> int:
        return self._open[user]

    @contextmanager
    def slot(self, user: str) -> Iterator[None]:
        """Hold one of ``user``'s stream slots for the life of a stream."""
        if self.closed:
            raise WatchesClosed
        if self._open[user] >= self.limits.max_per_user:
            raise TooManyStreams(user, self.limits.max_per_user)
        self._open[user] += 1
        try:
            yield
        finally:
            self._open[user] -= 1
            if not self._open[user]:
                del self._open[user]

    def close(self) -> None:
        """Refuse new streams and end every open one (the server is draining)."""
        self.closed = True
        for cache in self._caches.values():
            cache.close()
