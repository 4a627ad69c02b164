"""SubjectAccessReviewAuthorizer against the real API server's RBAC.

alice edits WebApps in team-a only; bob views team-a; carol has nothing. Every decision
here is made by kube-apiserver's RBAC authorizer through a SubjectAccessReview.
"""

from __future__ import annotations

import pytest

from kubeweft.auth import Identity, Operation, ResourceAttributes, attributes_for
from kubeweft.auth.subjectaccessreview import SubjectAccessReviewAuthorizer
from kubeweft.examples.webapp.api.v1 import WebApp
from kubeweft.localcluster.access import ClusterAccess
from kubeweft.runtime.client import Client
from kubeweft.runtime.clock import FakeClock
from tests.support.waiting import wait_until_async

from .conftest import Teams, binding, user

pytestmark = [pytest.mark.anyio, pytest.mark.localcluster]

INFO = WebApp.model_info
AUTHENTICATED = ("system:authenticated",)
ALICE = Identity("alice", AUTHENTICATED, method="kubernetes")
BOB = Identity("bob", AUTHENTICATED, method="kubernetes")
CAROL = Identity("carol", AUTHENTICATED, method="kubernetes")
ALL = list(Operation)
READS = {
    Operation.LIST,
    Operation.GET,
    Operation.READ_ANNOTATIONS,
    Operation.READ_HISTORY,
    Operation.READ_METRICS,
    Operation.READ_EVENTS,
}


async def _allowed(
    authorizer: SubjectAccessReviewAuthorizer, identity: Identity, namespace: str
) -> set[Operation]:
    allowed = set()
    for operation in ALL:
        attributes = attributes_for(INFO, operation, namespace=namespace, name="web")
        if (await authorizer.authorize(identity, attributes)).allowed:
            allowed.add(operation)
    return allowed


async def test_alice_edits_team_a_only(teams: Teams, admin_client: Client) -> None:
    authorizer = SubjectAccessReviewAuthorizer(admin_client)
    assert await _allowed(authorizer, ALICE, teams.team_a) == set(ALL)
    assert await _allowed(authorizer, ALICE, teams.team_b) == set()
    decision = await authorizer.authorize(
        ALICE, attributes_for(INFO, Operation.PATCH, namespace=teams.team_b, name="web")
    )
    assert "patch" in decision.reason
    assert "webapps" in decision.reason
    assert teams.team_b in decision.reason


async def test_bob_reads_only(teams: Teams, admin_client: Client) -> None:
    authorizer = SubjectAccessReviewAuthorizer(admin_client)
    assert await _allowed(authorizer, BOB, teams.team_a) == READS
    assert await _allowed(authorizer, BOB, teams.team_b) == set()


async def test_carol_nothing(teams: Teams, admin_client: Client) -> None:
    authorizer = SubjectAccessReviewAuthorizer(admin_client)
    assert await _allowed(authorizer, CAROL, teams.team_a) == set()
    assert await _allowed(authorizer, CAROL, teams.team_b) == set()


async def test_admin_group_allowed_everywhere(teams: Teams, admin_client: Client) -> None:
    authorizer = SubjectAccessReviewAuthorizer(admin_client)
    admin = Identity("root", ("system:masters",))
    assert await _allowed(authorizer, admin, teams.team_b) == set(ALL)


async def test_all_namespaces_listing_filters(teams: Teams, admin_client: Client) -> None:
    authorizer = SubjectAccessReviewAuthorizer(admin_client)
    template = attributes_for(INFO, Operation.LIST, namespace=None)
    seen = [teams.team_a, teams.team_b, "default", "kube-system"]
    assert await authorizer.allowed_namespaces(ALICE, template, seen) == {teams.team_a}
    assert await authorizer.allowed_namespaces(BOB, template, seen) == {teams.team_a}
    assert await authorizer.allowed_namespaces(CAROL, template, seen) == set()
    admin = Identity("root", ("system:masters",))
    assert await authorizer.allowed_namespaces(admin, template, seen) == set(seen)


async def test_removed_rolebinding_denied_once_the_cached_allow_expires(
    teams: Teams, admin_client: Client, local_cluster: ClusterAccess
) -> None:
    ttl = 10.0
    clock = FakeClock()  # the cache's time: moved by hand, never slept on
    authorizer = SubjectAccessReviewAuthorizer(
        admin_client, allow_ttl=ttl, deny_ttl=ttl, clock=clock
    )
    patch = attributes_for(INFO, Operation.PATCH, namespace=teams.team_a, name="web")
    assert (await authorizer.authorize(ALICE, patch)).allowed
    assert authorizer.reviews_sent == 1
    local_cluster.kubectl("delete", "rolebinding", "alice-edit", "-n", teams.team_a)

    # RBAC in the API server follows its informer: wait until the API server itself
    # denies (asked through a new authorizer, so nothing is cached).
    async def api_server_allows() -> bool:
        return (await SubjectAccessReviewAuthorizer(admin_client).authorize(ALICE, patch)).allowed

    await wait_until_async(
        api_server_allows, accept=lambda allowed: not allowed, what="RBAC to drop alice-edit"
    )
    # Until the TTL has passed the cached allow stands, without a review ...
    clock.advance(ttl - 0.5)
    assert (await authorizer.authorize(ALICE, patch)).allowed
    assert authorizer.reviews_sent == 1
    # ... and once it has, the next decision is asked anew: denied.
    clock.advance(1.0)
    decision = await authorizer.authorize(ALICE, patch)
    assert not decision.allowed
    assert authorizer.reviews_sent == 3  # the namespace's denial, then the name's
    assert "patch" in decision.reason


async def test_one_review_covers_a_namespace_and_resource_names_stay_per_name(
    teams: Teams, admin_client: Client, local_cluster: ClusterAccess
) -> None:
    """alice may patch every WebApp of team-a: one review for any number of names. dave
    may patch only the WebApp named web (a rule with resourceNames): the nameless
    question is denied, so each name is asked and shop stays forbidden; bob, a viewer,
    stays forbidden for every name."""
    local_cluster.apply(
        [
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": {"name": "webapp-web-patcher", "namespace": teams.team_a},
                "rules": [
                    {
                        "apiGroups": [INFO.group],
                        "resources": ["webapps"],
                        "resourceNames": ["web"],
                        "verbs": ["patch"],
                    }
                ],
            },
            binding(teams.team_a, "dave-web", "webapp-web-patcher", user("dave")),
        ]
    )
    dave = Identity("dave", AUTHENTICATED, method="kubernetes")

    def patch(name: str) -> ResourceAttributes:
        return attributes_for(INFO, Operation.PATCH, namespace=teams.team_a, name=name)

    async def dave_may_patch_web() -> bool:
        return (
            await SubjectAccessReviewAuthorizer(admin_client).authorize(dave, patch("web"))
        ).allowed

    await wait_until_async(dave_may_patch_web, what="RBAC to load dave-web")
    authorizer = SubjectAccessReviewAuthorizer(admin_client)
    names = ["web", "shop", "blog", "api"]
    for name in names:
        assert (await authorizer.authorize(ALICE, patch(name))).allowed
    assert authorizer.reviews_sent == 1
    assert (await authorizer.authorize(dave, patch("web"))).allowed
    shop = await authorizer.authorize(dave, patch("shop"))
    assert not shop.allowed
    assert '"shop"' in shop.reason
    assert authorizer.reviews_sent == 4  # dave: the namespace (denied), web, shop
    for name in names:
        assert not (await authorizer.authorize(BOB, patch(name))).allowed
