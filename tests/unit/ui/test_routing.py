"""The dashboard's routes sit first behind one prefix test (``ui.routing.UnderPrefix``): a
page is matched among the dashboard's routes alone, an API request never tries them, and
what the routes did before — redirects, assets, 405's Allow, the route the metrics are
labelled with, the OpenAPI document — is unchanged."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import Scope

from kubeweft.api import ObjectMeta
from kubeweft.examples.webapp.api.v1 import WebApp, WebAppSpec
from kubeweft.rest.app import openapi_document
from kubeweft.rest.middleware import HTTP_REQUESTS
from kubeweft.settings import Settings
from kubeweft.ui import install_dashboard
from tests.support.models import Zone
from tests.unit.rest.conftest import build

pytestmark = pytest.mark.anyio


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(dev_user="alice")
    app, kube, _store, _authorizer, context = build(settings, models=(WebApp, Zone))
    await kube.create(
        WebApp(
            metadata=ObjectMeta(name="web-a", namespace="team-a"),
            spec=WebAppSpec(image="nginx:1.27", replicas=1),
        )
    )
    transport = httpx.ASGITransport(app=install_dashboard(app, settings, context))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client


@pytest.fixture
def tried(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The path templates of the routes a request was tried against."""
    paths: list[str] = []
    matches = APIRoute.matches

    def recording(route: APIRoute, scope: Scope) -> tuple[Match, Scope]:
        paths.append(route.path)
        return matches(route, scope)

    monkeypatch.setattr(APIRoute, "matches", recording)
    return paths


async def test_a_page_is_matched_among_the_dashboards_routes_alone(
    http: httpx.AsyncClient, tried: list[str]
) -> None:
    assert (await http.get("/ui/webapps")).status_code == 200
    assert "/ui/{plural}" in tried
    assert [path for path in tried if not path.startswith("/ui")] == []


async def test_an_api_request_never_tries_the_dashboards_routes(
    http: httpx.AsyncClient, tried: list[str]
) -> None:
    assert (await http.get("/api/webapps/team-a/web-a")).status_code == 200
    assert tried
    assert [path for path in tried if path.startswith("/ui")] == []


async def test_what_the_routes_did_before_is_unchanged(http: httpx.AsyncClient) -> None:
    home = await http.get("/ui")
    assert (home.status_code, home.headers["location"]) == (303, "/ui/webapps")
    assert (await http.get("/ui/assets/dashboard.css")).status_code == 200
    refused = await http.post("/ui/webapps")
    assert (refused.status_code, refused.headers["allow"]) == (405, "GET")
    assert (await http.get("/ui/")).status_code == 307  # as any path with a slash too many
    before = HTTP_REQUESTS.labels("GET", "/ui/{plural}/{path}", "200")._value.get()
    assert (await http.get("/ui/webapps/team-a/web-a")).status_code == 200
    after = HTTP_REQUESTS.labels("GET", "/ui/{plural}/{path}", "200")._value.get()
    assert after == before + 1
    served = (await http.get("/openapi.json")).json()
    assert served == openapi_document((WebApp, Zone))
    assert not [path for path in served["paths"] if path.startswith("/ui")]
