"""When a failed request is worth repeating, and how long to wait first.

The API server is often briefly unavailable (restarts, leader changes of etcd, API
priority and fairness throttling); a controller that surfaces every such blip as a
reconcile error floods its queue with backoffs. So the client retries *transient*
failures — connection errors, timeouts, 429 and 5xx — with capped exponential backoff
and full jitter, honouring ``Retry-After``. It never retries what cannot succeed (4xx
other than 429), and it does not repeat a non-idempotent request whose first attempt
may already have taken effect (a POST that timed out waiting for its answer): a 409
on such a retry would be a lie about what happened, so that case surfaces to the caller.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from kubeweft.runtime import errors

__all__ = ["RetryPolicy"]


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff with jitter; ``max_attempts`` counts the first try."""

    max_attempts: int = 5
    base_delay: float = 0.1
    max_delay: float = 5.0
    # Upper bound for a server-requested Retry-After, so one 429 cannot stall a worker.
    max_retry_after: float = 30.0

    def should_retry(self, error: errors.ApiError, *, attempt: int, idempotent: bool) -> bool:
        """Whether attempt number ``attempt`` (1-based) that failed with ``error`` is repeated."""
        if attempt >= self.max_attempts:
            return False
        if isinstance(error, errors.TooManyRequests):
            return True
        if isinstance(error, errors.ConnectionFailed):
            # ``reason == "connect"``: the request never left; anything else is ambiguous.
            return idempotent or error.reason == "connect"
        if isinstance(error, errors.Timeout):
            return idempotent
        if isinstance(error, errors.ServerError):
            # 500/502/503 are answered before the write is committed... except when
            # they are not; only 503 (not served) is safe for a non-idempotent request.
            return idempotent or error.code == 503
        return False

    def delay(
        self, attempt: int, error: errors.ApiError, rng: random.Random | None = None
    ) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based)."""
        if error.retry_after is not None:
            return min(max(error.retry_after, 0.0), self.max_retry_after)
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        # "Full jitter": spreads a herd of clients that failed together.
        return (rng or random).uniform(ceiling / 2, ceiling)
