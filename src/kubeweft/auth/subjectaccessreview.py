"""Authorization by asking Kubernetes RBAC: one SubjectAccessReview per distinct question.

kubeweft keeps no permission model of its own. "May alice patch webapps in team-a?" is
sent to the API server as a SubjectAccessReview for alice's user and groups, so the
Roles and RoleBindings that govern ``kubectl`` govern the REST API too, and removing a
binding takes effect here within the cache TTL (``ReviewCache``).

A question about one object is first asked without its name: a nameless
SubjectAccessReview means "any name" (RBAC matches it only with rules that list no
``resourceNames``), so an allow there answers for every object of the namespace and is
cached per (user, verb, resource, namespace) — a client browsing a hundred objects costs
one review, not a hundred. Only when that is denied is the named question asked (a Role
that lists ``resourceNames`` allows just those), and cached per name.

Listing across all namespaces asks once per namespace seen (cached like any other
check), after one cluster-scope check that settles the question for cluster-wide
readers in a single review.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Iterable

import anyio
import structlog
from lightkube.models.authorization_v1 import NonResourceAttributes, SubjectAccessReviewSpec
from lightkube.models.authorization_v1 import ResourceAttributes as ReviewAttributes
from lightkube.resources.authorization_v1 import SubjectAccessReview

from kubeweft.auth import attributes as rbac
from kubeweft.auth._client import ReviewClient
from kubeweft.auth.identity import Decision, Identity, ResourceAttributes, ReviewUnavailable
from kubeweft.auth.reviewcache import ReviewCache
from kubeweft.runtime.clock import Clock

__all__ = ["SubjectAccessReviewAuthorizer"]

log = structlog.get_logger(__name__)

# How many namespace checks of one listing may be in flight at once.
_NAMESPACE_CHECK_CONCURRENCY = 16


def _key(identity: Identity, attributes: ResourceAttributes) -> Hashable:
    extra = tuple(sorted((k, tuple(v)) for k, v in identity.extra.items()))
    return (identity.user, tuple(sorted(set(identity.groups))), extra, attributes)


class SubjectAccessReviewAuthorizer:
    """An ``Authorizer`` backed by SubjectAccessReview, with a per-question cache.

    ``allow_ttl`` and ``deny_ttl`` are how long allows and denials are kept (seconds);
    a denial is never kept longer than an allow. ``version`` may be left empty: RBAC
    rules do not name versions.
    """

    def __init__(
        self,
        client: ReviewClient,
        *,
        allow_ttl: float = 10.0,
        deny_ttl: float = 2.0,
        clock: Clock | None = None,
        max_entries: int = 10_000,
    ) -> None:
        self._client = client
        self.allow_ttl = allow_ttl
        self.deny_ttl = min(deny_ttl, allow_ttl)
        self._cache: ReviewCache[Hashable, Decision] = ReviewCache(
            lambda d: self.allow_ttl if d.allowed else self.deny_ttl,
            clock=clock,
            max_entries=max_entries,
        )

    @property
    def reviews_sent(self) -> int:
        """SubjectAccessReviews sent to the API server so far."""
        return self._cache.stats.reviews

    @property
    def cache(self) -> ReviewCache[Hashable, Decision]:
        return self._cache

    async def authorize(self, identity: Identity, attributes: ResourceAttributes) -> Decision:
        if attributes.name is not None:
            any_name = dataclasses.replace(attributes, name=None)
            decision = await self._decide(identity, any_name)
            if decision.allowed:
                return decision
        return await self._decide(identity, attributes)

    async def _decide(self, identity: Identity, attributes: ResourceAttributes) -> Decision:
        return await self._cache.get(
            _key(identity, attributes), lambda: self._review(identity, attributes)
        )

    async def authorize_path(self, identity: Identity, path: str, verb: str) -> Decision:
        """May ``identity`` do ``verb`` on the non-resource URL ``path`` (e.g. /metrics)?"""
        key = ("nonResourceURL", _key(identity, ResourceAttributes(verb, "", "")), path)
        return await self._cache.get(key, lambda: self._review_path(identity, path, verb))

    async def _review_path(self, identity: Identity, path: str, verb: str) -> Decision:
        review = SubjectAccessReview(
            spec=SubjectAccessReviewSpec(
                user=identity.user,
                groups=list(identity.groups),
                extra={k: list(v) for k, v in identity.extra.items()} or None,
                nonResourceAttributes=NonResourceAttributes(path=path, verb=verb),
            )
        )
        try:
            answered = await self._client.create(review)
        except Exception as error:
            log.warning(
                "subjectaccessreview failed", user=identity.user, path=path, error=str(error)
            )
            raise ReviewUnavailable(
                "could not ask Kubernetes for an authorization decision"
            ) from error
        status = answered.status
        if status is not None and status.allowed and not status.denied:
            return Decision(True, status.reason or "")
        return Decision(False, f'user "{identity.user}" cannot {verb} path "{path}"')

    async def allowed_namespaces(
        self,
        identity: Identity,
        attributes_template: ResourceAttributes,
        namespaces: Iterable[str],
    ) -> set[str]:
        """The subset of ``namespaces`` where ``identity`` may do ``attributes_template``.

        The template's own ``namespace`` is ignored. One cached check at cluster scope
        first: a caller allowed there is allowed in every namespace.
        """
        candidates = set(namespaces)
        if not candidates:
            return set()
        cluster_wide = dataclasses.replace(attributes_template, namespace=None)
        if (await self.authorize(identity, cluster_wide)).allowed:
            return candidates
        allowed: set[str] = set()
        limiter = anyio.CapacityLimiter(_NAMESPACE_CHECK_CONCURRENCY)

        async def check(namespace: str) -> None:
            async with limiter:
                scoped = dataclasses.replace(attributes_template, namespace=namespace)
                if (await self.authorize(identity, scoped)).allowed:
                    allowed.add(namespace)

        async with anyio.create_task_group() as group:
            for namespace in sorted(candidates):
                group.start_soon(check, namespace)
        return allowed

    async def _review(self, identity: Identity, attributes: ResourceAttributes) -> Decision:
        review = SubjectAccessReview(
            spec=SubjectAccessReviewSpec(
                user=identity.user,
                groups=list(identity.groups),
                extra={k: list(v) for k, v in identity.extra.items()} or None,
                resourceAttributes=ReviewAttributes(
                    verb=attributes.verb,
                    group=attributes.group,
                    resource=attributes.resource,
                    namespace=attributes.namespace,
                    name=attributes.name,
                    subresource=attributes.subresource,
                ),
            )
        )
        try:
            answered = await self._client.create(review)
        except Exception as error:
            log.warning(
                "subjectaccessreview failed",
                user=identity.user,
                verb=attributes.verb,
                resource=attributes.resource,
                namespace=attributes.namespace,
                error=str(error),
            )
            raise ReviewUnavailable(
                "could not ask Kubernetes for an authorization decision"
            ) from error
        status = answered.status
        if status is not None and status.allowed and not status.denied:
            return Decision(True, status.reason or "")
        if status is not None and status.evaluationError:
            log.info("subjectaccessreview evaluation error", error=status.evaluationError)
        return Decision(False, rbac.describe(attributes, identity.user))
