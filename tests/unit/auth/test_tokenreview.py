"""KubernetesTokenAuthenticator: identity from TokenReview, cached by token hash."""

from __future__ import annotations

import pytest
from lightkube.models.authentication_v1 import UserInfo

from kubeweft.auth.identity import AuthenticationError, ReviewUnavailable
from kubeweft.auth.tokenreview import KubernetesTokenAuthenticator
from kubeweft.runtime.clock import FakeClock
from kubeweft.runtime.errors import ConnectionFailed

from .conftest import FakeReviewClient

pytestmark = pytest.mark.anyio

SA = UserInfo(
    username="system:serviceaccount:team-a:ci",
    groups=["system:serviceaccounts", "system:serviceaccounts:team-a"],
    uid="1234",
    extra={"authentication.kubernetes.io/pod-name": ["ci-0"]},
)


async def test_identity_from_review(clock: FakeClock) -> None:
    client = FakeReviewClient(users={"good": SA})
    authenticator = KubernetesTokenAuthenticator(client, clock=clock, audiences=["api"])
    identity = await authenticator.verify("good")
    assert identity.user == "system:serviceaccount:team-a:ci"
    assert identity.groups == ("system:serviceaccounts", "system:serviceaccounts:team-a")
    assert identity.method == "kubernetes"
    assert identity.extra == {"authentication.kubernetes.io/pod-name": ("ci-0",)}
    assert client.requests[0].spec.audiences == ["api"]


async def test_answers_cached_briefly(clock: FakeClock) -> None:
    client = FakeReviewClient(users={"good": SA})
    authenticator = KubernetesTokenAuthenticator(client, ttl=10, failure_ttl=2, clock=clock)
    for _ in range(3):
        await authenticator.verify("good")
        with pytest.raises(AuthenticationError):
            await authenticator.verify("bad")
    assert authenticator.reviews_sent == 2
    clock.advance(2.5)
    await authenticator.verify("good")
    with pytest.raises(AuthenticationError):
        await authenticator.verify("bad")
    assert authenticator.reviews_sent == 3  # the refusal was asked again
    client.users.pop("good")  # token revoked in the cluster
    clock.advance(10)
    with pytest.raises(AuthenticationError):
        await authenticator.verify("good")


async def test_cache_never_holds_the_token(clock: FakeClock) -> None:
    authenticator = KubernetesTokenAuthenticator(FakeReviewClient(users={"s3cr3t": SA}))
    await authenticator.verify("s3cr3t")
    assert "s3cr3t" not in repr(authenticator._cache._entries)


async def test_api_server_unreachable_is_unavailable(clock: FakeClock) -> None:
    client = FakeReviewClient(users={"good": SA})
    client.fail = ConnectionFailed(0, "connect", "refused")
    authenticator = KubernetesTokenAuthenticator(client, clock=clock)
    with pytest.raises(ReviewUnavailable):
        await authenticator.verify("good")
