"""KubernetesTokenAuthenticator: identity from TokenReview, cached by token hash."""

from __future__ import annotations

import base64
import json

import anyio
import pytest
from lightkube.models.authentication_v1 import UserInfo

from kubeweft.auth.identity import AuthenticationError, ReviewUnavailable
from kubeweft.auth.reviewbudget import ReviewBudget, ReviewBudgetExhausted
from kubeweft.auth.tokenreview import KubernetesTokenAuthenticator, token_expiry
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
    client = FakeReviewClient(users={"good": SA}, audiences={"good": ["api"]})
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


# --- audiences -------------------------------------------------------------------------
async def test_only_tokens_minted_for_our_audience(clock: FakeClock) -> None:
    client = FakeReviewClient(users={"ours": SA, "any-pod": SA}, audiences={"ours": ["kubeweft"]})
    authenticator = KubernetesTokenAuthenticator(client, clock=clock, audiences=["kubeweft"])
    assert (await authenticator.verify("ours")).user == SA.username
    with pytest.raises(AuthenticationError):
        await authenticator.verify("any-pod")  # minted for the API server only
    assert [r.spec.audiences for r in client.requests] == [["kubeweft"], ["kubeweft"]]


async def test_audience_checked_in_the_answer_too(clock: FakeClock) -> None:
    """An authenticator that ignores the requested audiences (a webhook, say) says
    "authenticated" for a token minted elsewhere: ``status.audiences`` still decides."""
    client = FakeReviewClient(users={"elsewhere": SA}, honour_audiences=False)
    authenticator = KubernetesTokenAuthenticator(client, clock=clock, audiences=["kubeweft"])
    with pytest.raises(AuthenticationError):
        await authenticator.verify("elsewhere")


async def test_without_audiences_the_api_servers_own(clock: FakeClock) -> None:
    client = FakeReviewClient(users={"any-pod": SA})
    authenticator = KubernetesTokenAuthenticator(client, clock=clock)
    assert (await authenticator.verify("any-pod")).user == SA.username
    assert client.requests[0].spec.audiences is None


# --- expiry caps the cache -------------------------------------------------------------
def _jwt_shaped(exp: object) -> str:
    def b64(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{b64({'alg': 'RS256'})}.{b64({'exp': exp, 'sub': 'x'})}.c2ln"


def test_token_expiry_reads_exp_of_jwt_shaped_tokens_only() -> None:
    assert token_expiry(_jwt_shaped(1_700_000_000)) == 1_700_000_000.0
    for token in ("opaque", "a.b.c", _jwt_shaped("soon"), _jwt_shaped(True), "a.!!!.c"):
        assert token_expiry(token) is None


def test_token_expiry_of_a_deeply_nested_payload_is_none() -> None:
    nested = base64.urlsafe_b64encode(b"[" * 6000).decode().rstrip("=")  # under the 8 KiB cap
    assert token_expiry(f"a.{nested}.c") is None


async def test_cached_identity_never_outlives_the_token(clock: FakeClock) -> None:
    now = 1_800_000_000.0
    token = _jwt_shaped(now + 3)  # expires in 3 s; the cache TTL is 10 s
    client = FakeReviewClient(users={token: SA})
    authenticator = KubernetesTokenAuthenticator(
        client, ttl=10, clock=clock, wall_clock=lambda: now + (clock.now() - 1000.0)
    )
    await authenticator.verify(token)
    clock.advance(2)
    await authenticator.verify(token)
    assert authenticator.reviews_sent == 1
    client.users.clear()  # the API server now says: expired
    clock.advance(1.5)  # past exp, well within the 10 s TTL
    with pytest.raises(AuthenticationError):
        await authenticator.verify(token)
    assert authenticator.reviews_sent == 2


# --- floods ------------------------------------------------------------------------------
async def test_refusals_are_cached_in_a_bounded_lru(clock: FakeClock) -> None:
    client = FakeReviewClient(users={"good": SA})
    authenticator = KubernetesTokenAuthenticator(
        client,
        clock=clock,
        max_refusals=3,
        budget=ReviewBudget(rate=1000, burst=1000, clock=clock),
    )
    await authenticator.verify("good")
    for i in range(10):
        with pytest.raises(AuthenticationError):
            await authenticator.verify(f"bogus-{i}")
    assert len(authenticator._refusals) == 3
    with pytest.raises(AuthenticationError):
        await authenticator.verify("bogus-9")  # recent: answered from the LRU
    assert authenticator.reviews_sent == 11
    await authenticator.verify("good")  # refusals never evict a known identity
    assert authenticator.reviews_sent == 11


async def test_review_budget_bounds_rate_and_answers_retry_after(clock: FakeClock) -> None:
    client = FakeReviewClient(users={"good": SA})
    budget = ReviewBudget(concurrency=2, rate=5, burst=4, clock=clock)
    authenticator = KubernetesTokenAuthenticator(client, clock=clock, budget=budget)
    outcomes: list[str] = []
    retry_after: set[float | None] = set()
    for i in range(20):
        try:
            await authenticator.verify(f"bogus-{i}")
        except ReviewBudgetExhausted as exc:
            retry_after.add(exc.retry_after)
            outcomes.append("throttled")
        except AuthenticationError:
            outcomes.append("refused")
    assert outcomes == ["refused"] * 4 + ["throttled"] * 16
    assert retry_after == {1.0}
    assert len(client.requests) == 4
    assert authenticator.throttled == 16
    clock.advance(0.2)  # one token refilled (5 a second)
    with pytest.raises(AuthenticationError):
        await authenticator.verify("bogus-x")
    assert len(client.requests) == 5


async def test_review_budget_bounds_concurrency(clock: FakeClock) -> None:
    client = FakeReviewClient()
    client.gate = anyio.Event()
    budget = ReviewBudget(concurrency=3, rate=1000, burst=50, clock=clock)
    authenticator = KubernetesTokenAuthenticator(client, clock=clock, budget=budget)

    async def attempt(i: int) -> None:
        with pytest.raises(AuthenticationError):
            await authenticator.verify(f"bogus-{i}")

    async with anyio.create_task_group() as tg:
        for i in range(30):
            tg.start_soon(attempt, i)
        await anyio.wait_all_tasks_blocked()
        assert len(client.requests) == 3  # the other 27 wait for a slot
        client.gate.set()
    assert len(client.requests) == 30
