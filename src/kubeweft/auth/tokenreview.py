"""Kubernetes bearer tokens, checked by the API server itself with a TokenReview.

Service-account tokens (``kubectl create token``), static tokens and whatever else the
cluster's authenticators accept are opaque to us: the API server says whether the
token is valid and who it belongs to. Answers are cached briefly by the token's
SHA-256 (the token itself is never kept), so a burst of requests costs one review.
"""

from __future__ import annotations

import hashlib

import structlog
from lightkube.models.authentication_v1 import TokenReviewSpec
from lightkube.resources.authentication_v1 import TokenReview

from kubeweft.auth._client import ReviewClient
from kubeweft.auth.identity import AuthenticationError, Identity, ReviewUnavailable
from kubeweft.auth.reviewcache import ReviewCache
from kubeweft.runtime.clock import Clock

__all__ = ["KubernetesTokenAuthenticator"]

log = structlog.get_logger(__name__)

METHOD = "kubernetes"


class KubernetesTokenAuthenticator:
    """Bearer tokens validated with TokenReview; ``None`` answers are "not authenticated"."""

    def __init__(
        self,
        client: ReviewClient,
        *,
        ttl: float = 10.0,
        failure_ttl: float = 2.0,
        audiences: list[str] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._client = client
        self._audiences = audiences
        failure_ttl = min(failure_ttl, ttl)
        self._cache: ReviewCache[str, Identity | None] = ReviewCache(
            lambda identity: ttl if identity is not None else failure_ttl, clock=clock
        )

    @property
    def reviews_sent(self) -> int:
        return self._cache.stats.reviews

    async def verify(self, token: str) -> Identity:
        digest = hashlib.sha256(token.encode()).hexdigest()
        identity = await self._cache.get(digest, lambda: self._review(token))
        if identity is None:
            raise AuthenticationError(
                "kubernetes token not authenticated by TokenReview",
                challenge='Bearer realm="kubeweft", error="invalid_token"',
            )
        return identity

    async def _review(self, token: str) -> Identity | None:
        review = TokenReview(spec=TokenReviewSpec(token=token, audiences=self._audiences))
        try:
            answered = await self._client.create(review)
        except Exception as error:
            log.warning("tokenreview failed", error=str(error))
            raise ReviewUnavailable("could not ask Kubernetes to review a token") from error
        status = answered.status
        if status is None or not status.authenticated or status.user is None:
            if status is not None and status.error:
                log.info("tokenreview refused the token", reason=status.error)
            return None
        user = status.user
        if not user.username:
            return None
        extra = {k: tuple(v) for k, v in (user.extra or {}).items()}
        return Identity(
            user=user.username,
            groups=tuple(user.groups or ()),
            method=METHOD,
            extra=extra,
        )
