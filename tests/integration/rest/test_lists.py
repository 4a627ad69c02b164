"""REST lists on the real stack: label selectors filter, continue tokens page.

A real ``Process`` (API server of the local control plane, informer cache, database)
serves seven WebApps created through the API. A valid ``labelSelector`` returns exactly
the matching ones; paging with ``limit`` and ``continue`` visits every object exactly
once, in a stable order, and the last page has no token.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from kubeweft.localcluster import ClusterAccess
from tests.integration.rest.stack import running
from tests.support.waiting import wait_until_async

pytestmark = [pytest.mark.anyio, pytest.mark.localcluster]

TIERS = {
    "web-0": "web",
    "web-1": "web",
    "web-2": "web",
    "web-3": "web",
    "db-0": "db",
    "db-1": "db",
    "cache-0": "cache",
}


async def names(http: httpx.AsyncClient, namespace: str, **params: Any) -> list[str]:
    response = await http.get(f"/api/webapps/{namespace}", params=params)
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()["items"]]


async def seven_webapps(http: httpx.AsyncClient, namespace: str) -> None:
    for name, tier in TIERS.items():
        body = {
            "name": name,
            "namespace": namespace,
            "labels": {"tier": tier, "team": "shop"},
            "spec": {"image": "nginx:1.27"},
        }
        created = await http.post("/api/webapps", json=body)
        assert created.status_code == 201, created.text

    async def all_listed() -> list[str]:
        return await names(http, namespace, limit=100)

    await wait_until_async(
        all_listed, accept=lambda seen: len(seen) == len(TIERS), what="seven WebApps listed"
    )


async def test_label_selector_filters_the_list(
    local_cluster: ClusterAccess, namespace: str, tmp_path: Any
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'kubeweft.db'}"
    async with running(local_cluster, url, enable_controller=False) as app:
        await seven_webapps(app.http, namespace)
        expected = {
            "tier=web": {"web-0", "web-1", "web-2", "web-3"},
            "tier!=web": {"db-0", "db-1", "cache-0"},
            "tier in (db,cache)": {"db-0", "db-1", "cache-0"},
            "tier notin (web,db)": {"cache-0"},
            "team=shop,tier=db": {"db-0", "db-1"},
            "team": set(TIERS),
            "!team": set(),
            "tier=nothing": set(),
        }
        for selector, want in expected.items():
            got = await names(app.http, namespace, labelSelector=selector)
            assert sorted(got) == sorted(want), selector
        # The all-namespace list filters the same way.
        everywhere = await app.http.get("/api/webapps", params={"labelSelector": "tier=db"})
        assert everywhere.status_code == 200
        assert {(i["namespace"], i["name"]) for i in everywhere.json()["items"]} == {
            (namespace, "db-0"),
            (namespace, "db-1"),
        }


async def test_continue_tokens_visit_every_object_once(
    local_cluster: ClusterAccess, namespace: str, tmp_path: Any
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'kubeweft.db'}"
    async with running(local_cluster, url, enable_controller=False) as app:
        await seven_webapps(app.http, namespace)
        pages: list[list[str]] = []
        token: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 3}
            if token is not None:
                params["continue"] = token
            response = await app.http.get(f"/api/webapps/{namespace}", params=params)
            assert response.status_code == 200, response.text
            body = response.json()
            pages.append([item["name"] for item in body["items"]])
            token = body["continue"]
            if token is None:
                break
            assert len(pages) < 10, f"paging does not end: {pages}"
        assert [len(page) for page in pages] == [3, 3, 1]
        seen = [name for page in pages for name in page]
        assert sorted(seen) == sorted(TIERS)  # each exactly once
        assert seen == await names(app.http, namespace, limit=100)  # the unpaged order

        # A selector and paging together: the token carries on within the filter.
        first = await app.http.get(
            f"/api/webapps/{namespace}", params={"limit": 2, "labelSelector": "tier=web"}
        )
        rest = await app.http.get(
            f"/api/webapps/{namespace}",
            params={"limit": 2, "labelSelector": "tier=web", "continue": first.json()["continue"]},
        )
        both = [i["name"] for i in first.json()["items"] + rest.json()["items"]]
        assert sorted(both) == ["web-0", "web-1", "web-2", "web-3"]
        assert rest.json()["continue"] is None

        # A page asked again is kept (views.listing.PageMemo), yet a write is in the
        # very next page: read-your-writes holds for a kept page too.
        page = f"/api/webapps/{namespace}"
        kept = await app.http.get(page)
        assert (await app.http.get(page)).content == kept.content
        patched = await app.http.patch(f"{page}/web-0", json={"spec": {"image": "nginx:1.28"}})
        assert patched.status_code == 200, patched.text
        images = {i["name"]: i["spec"]["image"] for i in (await app.http.get(page)).json()["items"]}
        assert images["web-0"] == "nginx:1.28"
        assert (await app.http.delete(f"{page}/db-1")).status_code in (200, 202, 204)
        assert "db-1" not in await names(app.http, namespace)
