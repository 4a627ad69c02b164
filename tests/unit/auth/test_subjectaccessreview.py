"""SubjectAccessReviewAuthorizer against a fake review client: what is asked, what is cached."""

from __future__ import annotations

import anyio
import pytest
from lightkube.resources.authorization_v1 import SubjectAccessReview

from kubeweft.auth import Identity, Operation, ResourceAttributes, ReviewUnavailable
from kubeweft.auth.attributes import attributes_for
from kubeweft.auth.subjectaccessreview import SubjectAccessReviewAuthorizer
from kubeweft.examples.webapp.api.v1 import WebApp
from kubeweft.runtime.clock import FakeClock
from kubeweft.runtime.errors import ServerError

from .conftest import FakeReviewClient

pytestmark = pytest.mark.anyio

ALICE = Identity(user="alice", groups=("devs", "system:authenticated"), method="jwt")
INFO = WebApp.model_info


def _in_team_a(review: SubjectAccessReview) -> bool:
    attributes = review.spec.resourceAttributes
    return attributes is not None and attributes.namespace == "team-a"


def _patch(namespace: str | None) -> ResourceAttributes:
    return attributes_for(INFO, Operation.PATCH, namespace=namespace, name="web")


def _named_web_only(review: SubjectAccessReview) -> bool:
    """Like a Role whose rule lists ``resourceNames: [web]``: a nameless question is denied."""
    attributes = review.spec.resourceAttributes
    return attributes is not None and attributes.name == "web"


async def test_review_carries_user_groups_and_resource(clock: FakeClock) -> None:
    client = FakeReviewClient(_named_web_only)
    authorizer = SubjectAccessReviewAuthorizer(client, clock=clock)
    attributes = attributes_for(INFO, Operation.CREATE_ANNOTATION, namespace="team-a", name="web")
    decision = await authorizer.authorize(ALICE, attributes)
    assert decision.allowed
    nameless, named = client.requests
    assert named.spec.user == "alice"
    assert named.spec.groups == ["devs", "system:authenticated"]
    ra = named.spec.resourceAttributes
    assert (ra.verb, ra.group, ra.resource, ra.subresource, ra.namespace, ra.name) == (
        "create",
        "kubeweft.dev",
        "webapps",
        "annotations",
        "team-a",
        "web",
    )
    asked_first = nameless.spec.resourceAttributes
    assert (asked_first.verb, asked_first.namespace, asked_first.name) == ("create", "team-a", None)


async def test_namespace_allow_answers_for_every_name(clock: FakeClock) -> None:
    client = FakeReviewClient(_in_team_a)
    authorizer = SubjectAccessReviewAuthorizer(client, clock=clock)
    for name in ("web", "shop", "blog"):
        attributes = attributes_for(INFO, Operation.PATCH, namespace="team-a", name=name)
        assert (await authorizer.authorize(ALICE, attributes)).allowed
    (review,) = client.requests
    assert review.spec.resourceAttributes.name is None
    assert review.spec.resourceAttributes.namespace == "team-a"
    # Another verb is another question.
    delete = attributes_for(INFO, Operation.DELETE, namespace="team-a", name="web")
    assert (await authorizer.authorize(ALICE, delete)).allowed
    assert authorizer.reviews_sent == 2


async def test_namespace_denial_asks_per_name_and_forbidden_stays_forbidden(
    clock: FakeClock,
) -> None:
    client = FakeReviewClient(_named_web_only)
    authorizer = SubjectAccessReviewAuthorizer(client, clock=clock)
    web = attributes_for(INFO, Operation.PATCH, namespace="team-a", name="web")
    shop = attributes_for(INFO, Operation.PATCH, namespace="team-a", name="shop")
    for _ in range(3):
        assert (await authorizer.authorize(ALICE, web)).allowed
        decision = await authorizer.authorize(ALICE, shop)
        assert not decision.allowed
        assert '"shop"' in decision.reason
    # The nameless denial is asked once (cached), then each name once.
    asked = [r.spec.resourceAttributes.name for r in client.requests]
    assert asked == [None, "web", "shop"]


async def test_denial_names_verb_resource_and_namespace(clock: FakeClock) -> None:
    authorizer = SubjectAccessReviewAuthorizer(FakeReviewClient(_in_team_a), clock=clock)
    decision = await authorizer.authorize(ALICE, _patch("team-b"))
    assert not decision.allowed
    assert "patch" in decision.reason
    assert '"webapps"' in decision.reason
    assert "team-b" in decision.reason
    assert "alice" in decision.reason


async def test_allow_cached_for_allow_ttl_denial_for_deny_ttl(clock: FakeClock) -> None:
    client = FakeReviewClient(_in_team_a)
    authorizer = SubjectAccessReviewAuthorizer(client, allow_ttl=10, deny_ttl=2, clock=clock)
    for _ in range(5):
        assert (await authorizer.authorize(ALICE, _patch("team-a"))).allowed
        assert not (await authorizer.authorize(ALICE, _patch("team-b"))).allowed
    # team-a: the namespace's allow; team-b: its denial, then the named question's.
    assert authorizer.reviews_sent == 3
    clock.advance(3)
    await authorizer.authorize(ALICE, _patch("team-a"))
    await authorizer.authorize(ALICE, _patch("team-b"))
    assert authorizer.reviews_sent == 5  # only the denials expired
    clock.advance(8)
    await authorizer.authorize(ALICE, _patch("team-a"))
    assert authorizer.reviews_sent == 6


async def test_deny_ttl_never_longer_than_allow_ttl(clock: FakeClock) -> None:
    client = FakeReviewClient(lambda review: False)
    authorizer = SubjectAccessReviewAuthorizer(client, allow_ttl=1, deny_ttl=30, clock=clock)
    assert authorizer.deny_ttl == 1
    await authorizer.authorize(ALICE, _patch("team-a"))  # nameless, then named: both denied
    clock.advance(1.5)
    await authorizer.authorize(ALICE, _patch("team-a"))
    assert authorizer.reviews_sent == 4


async def test_access_revoked_shows_after_ttl(clock: FakeClock) -> None:
    granted = True
    client = FakeReviewClient(lambda review: granted)
    authorizer = SubjectAccessReviewAuthorizer(client, allow_ttl=10, clock=clock)
    assert (await authorizer.authorize(ALICE, _patch("team-a"))).allowed
    granted = False
    assert (await authorizer.authorize(ALICE, _patch("team-a"))).allowed  # still cached
    clock.advance(10)
    assert not (await authorizer.authorize(ALICE, _patch("team-a"))).allowed


async def test_different_groups_are_different_questions(clock: FakeClock) -> None:
    client = FakeReviewClient(lambda review: "admins" in (review.spec.groups or []))
    authorizer = SubjectAccessReviewAuthorizer(client, clock=clock)
    admin = Identity(user="alice", groups=("admins",))
    assert (await authorizer.authorize(admin, _patch("x"))).allowed
    assert not (await authorizer.authorize(Identity(user="alice"), _patch("x"))).allowed
    # Group order does not matter.
    reordered = Identity(user="alice", groups=("system:authenticated", "devs"))
    await authorizer.authorize(ALICE, _patch("x"))
    await authorizer.authorize(reordered, _patch("x"))
    # admin: one allow; each of the two others: a nameless and a named denial.
    assert authorizer.reviews_sent == 5


async def test_concurrent_identical_checks_send_one_review(clock: FakeClock) -> None:
    client = FakeReviewClient()
    client.gate = anyio.Event()
    authorizer = SubjectAccessReviewAuthorizer(client, clock=clock)
    async with anyio.create_task_group() as group:
        for _ in range(50):
            group.start_soon(authorizer.authorize, ALICE, _patch("team-a"))
        await anyio.wait_all_tasks_blocked()
        client.gate.set()
    assert len(client.requests) == 1


async def test_api_failure_is_unavailable_not_denied(clock: FakeClock) -> None:
    client = FakeReviewClient()
    client.fail = ServerError(503, "ServiceUnavailable", "etcd down")
    authorizer = SubjectAccessReviewAuthorizer(client, clock=clock)
    with pytest.raises(ReviewUnavailable):
        await authorizer.authorize(ALICE, _patch("team-a"))
    client.fail = None
    assert (await authorizer.authorize(ALICE, _patch("team-a"))).allowed


async def test_allowed_namespaces_checks_each_namespace_once(clock: FakeClock) -> None:
    client = FakeReviewClient(_in_team_a)
    authorizer = SubjectAccessReviewAuthorizer(client, clock=clock)
    template = attributes_for(INFO, Operation.LIST, namespace=None)
    seen = ["team-a", "team-b", "team-c", "team-a"]
    assert await authorizer.allowed_namespaces(ALICE, template, seen) == {"team-a"}
    # One cluster-scope check plus one per distinct namespace.
    assert len(client.requests) == 4
    assert await authorizer.allowed_namespaces(ALICE, template, seen) == {"team-a"}
    assert len(client.requests) == 4  # all cached
    verbs = {r.spec.resourceAttributes.verb for r in client.requests}
    assert verbs == {"list"}


async def test_allowed_namespaces_cluster_reader_needs_one_review(clock: FakeClock) -> None:
    client = FakeReviewClient()
    authorizer = SubjectAccessReviewAuthorizer(client, clock=clock)
    template = attributes_for(INFO, Operation.LIST, namespace=None)
    namespaces = [f"ns-{i}" for i in range(30)]
    assert await authorizer.allowed_namespaces(ALICE, template, namespaces) == set(namespaces)
    assert len(client.requests) == 1
    assert client.requests[0].spec.resourceAttributes.namespace is None


async def test_allowed_namespaces_of_nothing_asks_nothing(clock: FakeClock) -> None:
    client = FakeReviewClient()
    authorizer = SubjectAccessReviewAuthorizer(client, clock=clock)
    template = attributes_for(INFO, Operation.LIST, namespace=None)
    assert await authorizer.allowed_namespaces(ALICE, template, []) == set()
    assert client.requests == []
