"""The generated WebApp router against fakes of the client, cache and store."""

from __future__ import annotations

from typing import Any

import pytest

from kubeweft.api.changes import CHANGED_BY_ANNOTATION, changed_by
from kubeweft.runtime import errors as kube_errors
from tests.unit.rest.conftest import Harness

pytestmark = pytest.mark.anyio

NEW = {
    "name": "shop",
    "namespace": "team-a",
    "labels": {"tier": "web"},
    "spec": {"image": "nginx:1"},
}


async def test_create_returns_201_location_etag_and_stamps_the_actor(harness: Harness) -> None:
    response = await harness.http.post("/api/webapps", json=NEW)
    assert response.status_code == 201, response.text
    assert response.headers["location"] == "/api/webapps/team-a/shop"
    body = response.json()
    assert response.headers["etag"] == f'"{body["resourceVersion"]}"'
    assert body["spec"] == {
        "image": "nginx:1",
        "replicas": 1,
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
        "env": [],
        "resources": None,
    }
    assert body["history"] == []
    assert body["annotations"] == []
    assert body["metrics"] == {}
    stored = await harness.kube.get(harness.context.models[0], "shop", "team-a")
    assert changed_by(stored.metadata.annotations, stored.to_dict()["spec"]) == "alice"
    assert [(a.verb, a.outcome, a.actor, a.status_code) for a in harness.store.audits] == [
        ("create", "success", "alice", 201)
    ]


async def test_create_twice_is_409(harness: Harness) -> None:
    assert (await harness.http.post("/api/webapps", json=NEW)).status_code == 201
    response = await harness.http.post("/api/webapps", json=NEW)
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"


async def test_invalid_spec_is_422_naming_fields(harness: Harness) -> None:
    bad = {**NEW, "spec": {"image": "", "replicas": 500, "bogus": 1}}
    response = await harness.http.post("/api/webapps", json=bad)
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"spec.image", "spec.replicas", "spec.bogus"}


async def test_get_detail_and_404(harness: Harness) -> None:
    await harness.http.post("/api/webapps", json=NEW)
    detail = await harness.http.get("/api/webapps/team-a/shop")
    assert detail.status_code == 200
    assert detail.json()["name"] == "shop"
    # No ready replica (0 of 60), no Ready condition yet (half of 25), no reconcile
    # errors (15): 27.5, rounded half up.
    assert detail.json()["healthScore"] == 28
    missing = await harness.http.get("/api/webapps/team-a/nope")
    assert missing.status_code == 404
    assert missing.json()["status"] == 404


async def test_read_your_writes_falls_back_to_the_api_server_when_the_cache_lags(
    harness: Harness,
) -> None:
    harness.kube.lag = True
    assert (await harness.http.post("/api/webapps", json=NEW)).status_code == 201
    assert (await harness.http.get("/api/webapps/team-a/shop")).status_code == 200
    patched = await harness.http.patch("/api/webapps/team-a/shop", json={"spec": {"image": "b"}})
    assert patched.status_code == 200
    again = await harness.http.get("/api/webapps/team-a/shop")
    assert again.json()["spec"]["image"] == "b"


async def test_patch_merges_spec_and_labels_and_restamps_the_actor(harness: Harness) -> None:
    await harness.http.post("/api/webapps", json=NEW)
    response = await harness.http.patch(
        "/api/webapps/team-a/shop",
        json={"spec": {"image": "nginx:2"}, "labels": {"tier": None, "team": "a"}},
        headers={"content-type": "application/merge-patch+json"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["spec"]["image"] == "nginx:2"
    assert body["spec"]["replicas"] == 1
    assert body["labels"] == {"team": "a"}
    stored = await harness.kube.get(harness.context.models[0], "shop", "team-a")
    assert CHANGED_BY_ANNOTATION in (stored.metadata.annotations or {})
    assert changed_by(stored.metadata.annotations, stored.to_dict()["spec"]) == "alice"


async def test_patch_with_stale_if_match_is_412(harness: Harness) -> None:
    created = await harness.http.post("/api/webapps", json=NEW)
    etag = created.headers["etag"]
    ok = await harness.http.patch(
        "/api/webapps/team-a/shop", json={"spec": {"replicas": 2}}, headers={"If-Match": etag}
    )
    assert ok.status_code == 200
    stale = await harness.http.patch(
        "/api/webapps/team-a/shop", json={"spec": {"replicas": 3}}, headers={"If-Match": etag}
    )
    assert stale.status_code == 412
    assert stale.headers["etag"] == ok.headers["etag"]


async def test_if_match_holds_when_any_listed_tag_is_current(harness: Harness) -> None:
    """RFC 9110 §13.1.1: a list of entity tags matches when any of them does; ``*``
    matches whatever is current."""
    first = (await harness.http.post("/api/webapps", json=NEW)).headers["etag"]
    path = "/api/webapps/team-a/shop"
    listed = await harness.http.patch(
        path, json={"spec": {"replicas": 2}}, headers={"If-Match": f'"999999", {first}'}
    )
    assert listed.status_code == 200, listed.text
    second = listed.headers["etag"]
    stale = await harness.http.patch(
        path, json={"spec": {"replicas": 3}}, headers={"If-Match": f'{first}, "999999"'}
    )
    assert stale.status_code == 412, stale.text
    assert stale.headers["etag"] == second
    weak = await harness.http.patch(
        path, json={"spec": {"replicas": 3}}, headers={"If-Match": f"{first}, W/{second}"}
    )
    assert weak.status_code == 200, weak.text
    anything = await harness.http.patch(
        path, json={"spec": {"replicas": 4}}, headers={"If-Match": "*"}
    )
    assert anything.status_code == 200, anything.text
    missing = await harness.http.patch(
        "/api/webapps/team-a/nope", json={"spec": {"replicas": 4}}, headers={"If-Match": "*"}
    )
    assert missing.status_code == 404


async def test_patch_without_if_match_retries_conflicts(harness: Harness) -> None:
    await harness.http.post("/api/webapps", json=NEW)
    # Someone else writes between the handler's read and its update.
    harness.kube.fail_next["update"] = kube_errors.Conflict(409, "Conflict", "stale")
    response = await harness.http.patch("/api/webapps/team-a/shop", json={"spec": {"replicas": 4}})
    assert response.status_code == 200
    assert response.json()["spec"]["replicas"] == 4


async def test_patch_invalid_merged_spec_is_422(harness: Harness) -> None:
    await harness.http.post("/api/webapps", json=NEW)
    response = await harness.http.patch("/api/webapps/team-a/shop", json={"spec": {"replicas": -1}})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["spec.replicas"]


async def test_patch_that_changes_nothing_does_not_write(harness: Harness) -> None:
    await harness.http.post("/api/webapps", json=NEW)
    response = await harness.http.patch("/api/webapps/team-a/shop", json={"spec": {"replicas": 1}})
    assert response.status_code == 200
    assert [verb for verb, _, _ in harness.kube.writes] == ["create"]


async def _created_and_cached(harness: Harness) -> None:
    assert (await harness.http.post("/api/webapps", json=NEW)).status_code == 201
    assert (await harness.http.get("/api/webapps/team-a/shop")).status_code == 200


def _count_live_gets(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    names: list[str] = []
    live_get = harness.kube.get

    async def get(kind: Any, name: str, namespace: str | None = None) -> Any:
        names.append(name)
        return await live_get(kind, name, namespace)

    monkeypatch.setattr(harness.kube, "get", get)
    return names


async def _someone_else_sets(harness: Harness, replicas: int) -> str:
    """A write the cache has not seen (it lags); the object's new resourceVersion."""
    harness.kube.lag = True
    live = await harness.kube.get(harness.context.models[0], "shop", "team-a")
    live.spec.replicas = replicas
    written = await harness.kube.update(live)
    return str(written.metadata.resourceVersion)


async def test_patch_reads_the_object_from_the_cache(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _created_and_cached(harness)
    live_gets = _count_live_gets(harness, monkeypatch)
    response = await harness.http.patch("/api/webapps/team-a/shop", json={"spec": {"image": "b"}})
    assert response.status_code == 200, response.text
    assert response.json()["spec"]["image"] == "b"
    assert live_gets == []
    again = await harness.http.get("/api/webapps/team-a/shop")
    assert again.json()["spec"]["image"] == "b"


async def test_patch_on_a_stale_cache_is_refused_then_made_on_the_live_object(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _created_and_cached(harness)
    await _someone_else_sets(harness, replicas=3)
    live_gets = _count_live_gets(harness, monkeypatch)
    response = await harness.http.patch("/api/webapps/team-a/shop", json={"spec": {"image": "b"}})
    assert response.status_code == 200, response.text
    stored = harness.kube.raw("WebApp", "shop", "team-a")
    assert (stored["spec"]["image"], stored["spec"]["replicas"]) == ("b", 3)  # nothing lost
    assert live_gets == ["shop"]  # the retry, after the conflict the cached copy caused


async def test_if_match_newer_than_the_cache_is_checked_on_the_api_server(
    harness: Harness,
) -> None:
    await _created_and_cached(harness)
    current = await _someone_else_sets(harness, replicas=3)
    response = await harness.http.patch(
        "/api/webapps/team-a/shop",
        json={"spec": {"image": "b"}},
        headers={"If-Match": f'"{current}"'},
    )
    assert response.status_code == 200, response.text
    assert response.json()["spec"]["replicas"] == 3


async def test_patch_that_changes_nothing_in_a_stale_cache_still_writes(harness: Harness) -> None:
    await _created_and_cached(harness)  # replicas 1
    await _someone_else_sets(harness, replicas=3)
    response = await harness.http.patch("/api/webapps/team-a/shop", json={"spec": {"replicas": 1}})
    assert response.status_code == 200, response.text
    assert harness.kube.raw("WebApp", "shop", "team-a")["spec"]["replicas"] == 1


async def test_delete_then_404(harness: Harness) -> None:
    await harness.http.post("/api/webapps", json=NEW)
    assert (await harness.http.get("/api/webapps/team-a/shop")).status_code == 200
    assert (await harness.http.delete("/api/webapps/team-a/shop")).status_code == 204
    assert (await harness.http.get("/api/webapps/team-a/shop")).status_code == 404
    assert (await harness.http.delete("/api/webapps/team-a/shop")).status_code == 404


async def test_annotations_round_trip(harness: Harness) -> None:
    assert (
        await harness.http.post("/api/webapps/team-a/shop/annotations", json={"body": "x"})
    ).status_code == 404
    await harness.http.post("/api/webapps", json=NEW)
    created = await harness.http.post("/api/webapps/team-a/shop/annotations", json={"body": "hi"})
    assert created.status_code == 201
    note = created.json()
    assert note["author"] == "alice"
    assert note["body"] == "hi"
    assert created.headers["location"].endswith(f"/annotations/{note['id']}")
    detail = (await harness.http.get("/api/webapps/team-a/shop")).json()
    assert [a["body"] for a in detail["annotations"]] == ["hi"]
    gone = await harness.http.delete(f"/api/webapps/team-a/shop/annotations/{note['id']}")
    assert gone.status_code == 204
    again = await harness.http.delete(f"/api/webapps/team-a/shop/annotations/{note['id']}")
    assert again.status_code == 404


async def test_database_down_is_500_problem_without_internals(harness: Harness) -> None:
    await harness.http.post("/api/webapps", json=NEW)
    harness.store.down = True
    response = await harness.http.get("/api/webapps/team-a/shop")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "refused" not in response.text
    assert "Traceback" not in response.text
    assert response.json()["type"].endswith("/database-unavailable")


async def test_list_pages_with_one_batched_metrics_query_per_page(harness: Harness) -> None:
    for i in range(7):
        spec = {"image": "x"}
        await harness.http.post(
            "/api/webapps", json={"name": f"a{i}", "namespace": "n", "spec": spec}
        )
    names: list[str] = []
    token = None
    pages = 0
    while True:
        params = {"limit": "3", **({"continue": token} if token else {})}
        page = (await harness.http.get("/api/webapps/n", params=params)).json()
        names += [item["name"] for item in page["items"]]
        token = page["continue"]
        pages += 1
        if token is None:
            break
    assert names == [f"a{i}" for i in range(7)]
    assert harness.store.latest_calls == pages == 3


async def test_list_continue_token_from_another_query_is_400(harness: Harness) -> None:
    for i in range(3):
        await harness.http.post(
            "/api/webapps", json={"name": f"a{i}", "namespace": "n", "spec": {"image": "x"}}
        )
    token = (await harness.http.get("/api/webapps/n", params={"limit": 1})).json()["continue"]
    response = await harness.http.get("/api/webapps/other", params={"continue": token})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "query.continue"


async def test_list_all_namespaces_shows_only_permitted_namespaces(harness: Harness) -> None:
    for ns in ("n1", "n2"):
        await harness.http.post(
            "/api/webapps", json={"name": "a", "namespace": ns, "spec": {"image": "x"}}
        )
    harness.authorizer.deny = {("list", None), ("list", "n2")}
    items = (await harness.http.get("/api/webapps")).json()["items"]
    assert [i["namespace"] for i in items] == ["n1"]


async def test_forbidden_names_verb_and_resource(harness: Harness) -> None:
    harness.authorizer.deny = {("delete", "team-a")}
    response = await harness.http.delete("/api/webapps/team-a/shop")
    assert response.status_code == 403
    assert "delete webapps.kubeweft.dev in namespace team-a" in response.json()["detail"]


async def test_every_body_member_is_camel_case_like_the_spec(harness: Harness) -> None:
    await harness.http.post("/api/webapps", json=NEW)
    note = await harness.http.post("/api/webapps/team-a/shop/annotations", json={"body": "hi"})
    assert note.status_code == 201, note.text
    assert set(note.json()) == {"id", "author", "body", "createdAt"}
    envelope = {
        "uid",
        "name",
        "namespace",
        "labels",
        "resourceVersion",
        "generation",
        "createdAt",
        "deleting",
        "spec",
        "status",
        "healthScore",
    }
    detail = (await harness.http.get("/api/webapps/team-a/shop")).json()
    assert set(detail) == envelope | {"history", "metrics", "annotations"}
    assert [set(a) for a in detail["annotations"]] == [{"id", "author", "body", "createdAt"}]
    listed = (await harness.http.get("/api/webapps")).json()
    assert set(listed) == {"items", "continue"}
    assert [set(item) for item in listed["items"]] == [envelope | {"latestMetrics"}]
    # Problem documents keep RFC 9457's member names; the extension is camelCase too.
    missing = await harness.http.get("/api/webapps/team-a/nope", headers={"x-request-id": "r-9"})
    assert set(missing.json()) == {"type", "title", "status", "detail", "instance", "requestId"}
