"""Kubernetes bearer tokens, checked by the API server itself with a TokenReview.

Service-account tokens (``kubectl create token``), static tokens and whatever else the
cluster's authenticators accept are opaque to us: the API server says whether the
token is valid and who it belongs to. Answers are cached briefly by the token's
SHA-256 (the token itself is never kept), so a burst of requests costs one review.

Three guards make this safe to expose:

* **Audiences.** With ``audiences`` set, the review asks for them and the answer's
  ``status.audiences`` must name one: only tokens minted for this deployment
  (``kubectl create token SA --audience kubeweft``) are accepted, not every pod's
  API-server token, which any workload in the cluster holds and could replay here.
* **Expiry.** A cached identity never outlives the token: when the token is a JWT, its
  ``exp`` (read without verifying — the API server did that) caps the cache lifetime.
* **Floods.** Refusals are cached briefly in their own bounded LRU (so a flood of
  made-up tokens cannot evict the identities of real callers), and reviews of tokens
  not yet known spend a :class:`ReviewBudget` (concurrency and rate); past it the
  caller gets 503 + ``Retry-After`` without a review being sent.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from lightkube.models.authentication_v1 import TokenReviewSpec
from lightkube.resources.authentication_v1 import TokenReview
from prometheus_client import Counter

from kubeweft.auth._client import ReviewClient
from kubeweft.auth.identity import AuthenticationError, Identity, ReviewUnavailable
from kubeweft.auth.reviewbudget import ReviewBudget, ReviewBudgetExhausted
from kubeweft.auth.reviewcache import ReviewCache
from kubeweft.runtime.clock import Clock, RealClock
from kubeweft.runtime.metrics import REGISTRY

__all__ = ["TOKENREVIEWS", "KubernetesTokenAuthenticator", "token_expiry"]

log = structlog.get_logger(__name__)

METHOD = "kubernetes"
_INVALID = 'Bearer realm="kubeweft", error="invalid_token"'

TOKENREVIEWS = Counter(
    "kubeweft_tokenreviews_total",
    "TokenReviews by outcome: sent and answered (authenticated, unauthenticated), sent "
    "and failed (error), or not sent because the review budget was spent (throttled).",
    ["result"],
    registry=REGISTRY,
)
for _result in ("authenticated", "unauthenticated", "error", "throttled"):
    TOKENREVIEWS.labels(_result)


def token_expiry(token: str) -> float | None:
    """The ``exp`` (Unix seconds) of a JWT-shaped token, unverified; else ``None``.

    Only ever used to *shorten* how long an answer is cached, never to accept a token.
    """
    parts = token.split(".")
    if len(parts) != 3 or len(parts[1]) > 8192:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        return None  # RecursionError: arrays or objects nested past Python's limit
    exp = payload.get("exp") if isinstance(payload, dict) else None
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        return None
    return float(exp)


@dataclass(frozen=True)
class _Reviewed:
    identity: Identity
    ttl: float


class _Refusals:
    """Digests of refused tokens, each for ``ttl`` seconds, at most ``max_entries`` (LRU)."""

    def __init__(self, ttl: float, max_entries: int, clock: Clock) -> None:
        self._ttl = ttl
        self._max_entries = max_entries
        self._clock = clock
        self._expiry: OrderedDict[str, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._expiry)

    def __contains__(self, digest: object) -> bool:
        expires_at = self._expiry.get(digest)  # type: ignore[call-overload]
        if expires_at is None:
            return False
        if expires_at <= self._clock.now():
            del self._expiry[digest]  # type: ignore[arg-type]
            return False
        self._expiry.move_to_end(digest)  # type: ignore[arg-type]
        return True

    def add(self, digest: str) -> None:
        if self._ttl <= 0:
            return
        self._expiry[digest] = self._clock.now() + self._ttl
        self._expiry.move_to_end(digest)
        while len(self._expiry) > self._max_entries:
            self._expiry.popitem(last=False)


class KubernetesTokenAuthenticator:
    """Bearer tokens validated with TokenReview; ``None`` answers are "not authenticated"."""

    def __init__(
        self,
        client: ReviewClient,
        *,
        ttl: float = 10.0,
        failure_ttl: float = 2.0,
        audiences: list[str] | None = None,
        budget: ReviewBudget | None = None,
        clock: Clock | None = None,
        wall_clock: Callable[[], float] = time.time,
        max_entries: int = 10_000,
        max_refusals: int = 4_096,
    ) -> None:
        self._client = client
        self._audiences = list(audiences) if audiences else None
        self._ttl = ttl
        self._wall_clock = wall_clock
        clock = clock or RealClock()
        self._budget = budget or ReviewBudget(clock=clock)
        self._cache: ReviewCache[str, _Reviewed | None] = ReviewCache(
            lambda reviewed: reviewed.ttl if reviewed is not None else 0.0,
            clock=clock,
            max_entries=max_entries,
        )
        self._refusals = _Refusals(min(failure_ttl, ttl), max_refusals, clock)

    @property
    def reviews_sent(self) -> int:
        return self._cache.stats.reviews - self.throttled

    @property
    def throttled(self) -> int:
        """Reviews not sent because the budget was spent."""
        return self._budget.refused

    async def verify(self, token: str) -> Identity:
        digest = hashlib.sha256(token.encode()).hexdigest()
        if digest in self._refusals:
            raise AuthenticationError("kubernetes token refused (cached)", challenge=_INVALID)
        reviewed = await self._cache.get(digest, lambda: self._review(token))
        if reviewed is None:
            self._refusals.add(digest)
            raise AuthenticationError(
                "kubernetes token not authenticated by TokenReview", challenge=_INVALID
            )
        return reviewed.identity

    async def _review(self, token: str) -> _Reviewed | None:
        try:
            async with self._budget.spend():
                answered = await self._ask(token)
        except ReviewBudgetExhausted:
            TOKENREVIEWS.labels("throttled").inc()
            raise
        status = answered.status
        if status is None or not status.authenticated or status.user is None:
            if status is not None and status.error:
                log.info("tokenreview refused the token", reason=status.error)
            TOKENREVIEWS.labels("unauthenticated").inc()
            return None
        TOKENREVIEWS.labels("authenticated").inc()
        if self._audiences is not None and not set(status.audiences or ()) & set(self._audiences):
            log.info(
                "tokenreview: token not minted for our audiences",
                audiences=status.audiences,
                wanted=self._audiences,
            )
            return None
        user = status.user
        if not user.username:
            return None
        extra = {k: tuple(v) for k, v in (user.extra or {}).items()}
        identity = Identity(
            user=user.username,
            groups=tuple(user.groups or ()),
            method=METHOD,
            extra=extra,
        )
        return _Reviewed(identity, self._cache_lifetime(token))

    async def _ask(self, token: str) -> TokenReview:
        review = TokenReview(spec=TokenReviewSpec(token=token, audiences=self._audiences))
        try:
            return await self._client.create(review)
        except Exception as error:
            TOKENREVIEWS.labels("error").inc()
            log.warning("tokenreview failed", error=str(error))
            raise ReviewUnavailable("could not ask Kubernetes to review a token") from error

    def _cache_lifetime(self, token: str) -> float:
        expiry = token_expiry(token)
        if expiry is None:
            return self._ttl
        return max(0.0, min(self._ttl, expiry - self._wall_clock()))
