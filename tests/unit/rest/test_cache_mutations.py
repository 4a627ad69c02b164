"""The REST layer tells the process's cache of each write the API server answered
(``Cache.mutation``) — the answer itself, once — and of nothing it refused."""

from __future__ import annotations

from typing import Any

import pytest

from kubeweft.runtime import errors as kube_errors
from tests.unit.rest.conftest import Harness

pytestmark = pytest.mark.anyio

NEW = {"name": "shop", "namespace": "team-a", "spec": {"image": "nginx:1"}}
ITEM = "/api/webapps/team-a/shop"


class Told:
    """The cache's ``mutation``, remembered."""

    def __init__(self) -> None:
        self.objects: list[Any] = []

    def mutation(self, obj: Any) -> bool:
        self.objects.append(obj)
        return True

    def versions(self) -> list[str]:
        return [obj.metadata.resourceVersion for obj in self.objects]


@pytest.fixture
def told(harness: Harness) -> Told:
    told = Told()
    harness.context.cache = told
    return told


def etag(response: Any) -> str:
    return str(response.headers["etag"]).strip('"')


async def test_a_create_and_a_patch_tell_the_cache_what_the_api_server_answered(
    harness: Harness, told: Told
) -> None:
    created = await harness.http.post("/api/webapps", json=NEW)
    assert created.status_code == 201, created.text
    patched = await harness.http.patch(ITEM, json={"spec": {"image": "nginx:2"}})
    assert patched.status_code == 200, patched.text
    assert told.versions() == [etag(created), etag(patched)]
    assert told.objects[1].spec.image == "nginx:2"


async def test_a_patch_retried_after_a_conflict_tells_only_the_write_that_was_made(
    harness: Harness, told: Told
) -> None:
    await harness.http.post("/api/webapps", json=NEW)
    harness.kube.fail_next["update"] = kube_errors.Conflict(409, "Conflict", "stale")
    patched = await harness.http.patch(ITEM, json={"spec": {"replicas": 3}})
    assert patched.status_code == 200, patched.text
    assert told.versions()[1:] == [etag(patched)]


async def test_writes_the_api_server_refused_or_did_not_need_tell_nothing(
    harness: Harness, told: Told
) -> None:
    harness.kube.fail_next["create"] = kube_errors.Invalid(422, "Invalid", "spec.image: bad")
    refused = await harness.http.post("/api/webapps", json=NEW)
    assert refused.status_code == 422
    assert told.objects == []
    await harness.http.post("/api/webapps", json=NEW)
    told.objects.clear()
    harness.kube.fail_next["update"] = kube_errors.Invalid(422, "Invalid", "spec.image: bad")
    refused = await harness.http.patch(ITEM, json={"spec": {"image": "nginx:2"}})
    assert refused.status_code == 422
    unchanged = await harness.http.patch(ITEM, json={"spec": {"image": "nginx:1"}})
    assert unchanged.status_code == 200
    assert told.objects == []
