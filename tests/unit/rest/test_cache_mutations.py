"""The REST layer tells the process's cache of each write the API server answered
(``Cache.mutation``) — the answer itself, once; a create, a patch, a rollback (of a
cluster-scoped model too) — and of nothing it refused."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from kubeweft.api import ObjectMeta
from kubeweft.runtime import errors as kube_errors
from kubeweft.views.records import HistoryEntry
from tests.support.models import Zone, ZoneSpec
from tests.unit.rest.conftest import Harness, build

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


async def test_a_rollback_of_a_cluster_scoped_model_tells_the_cache() -> None:
    app, kube, store, _, context = build(models=(Zone,))
    told = Told()
    context.cache = told
    created = await kube.create(Zone(metadata=ObjectMeta(name="eu"), spec=ZoneSpec(capacity=3)))
    uid = created.metadata.uid
    assert uid is not None
    now = datetime.now(UTC)
    store.history_rows[uid] = [HistoryEntry(1, {"capacity": 5}, None, "bob", "reconciler", now)]
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        etag_created = f'"{created.metadata.resourceVersion}"'
        answer = await http.post(
            "/api/zones/eu/rollback", json={"generation": 1}, headers={"If-Match": etag_created}
        )
    assert answer.status_code == 200, answer.text
    assert told.versions() == [etag(answer)]
    assert told.objects[0].spec.capacity == 5
