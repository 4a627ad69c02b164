"""CORS: a browser's preflight is answered for the configured origins only."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from kubeweft.settings import Settings
from tests.unit.rest.conftest import build

pytestmark = pytest.mark.anyio

ALLOWED = "https://dashboard.example"


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    app, *_ = build(Settings(dev_user="alice", cors_origins=[ALLOWED]))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def preflight(origin: str, method: str = "POST") -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization, content-type",
    }


async def test_preflight_from_an_allowed_origin_is_answered(http: httpx.AsyncClient) -> None:
    response = await http.options("/api/webapps", headers=preflight(ALLOWED))
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED
    methods = {m.strip() for m in response.headers["access-control-allow-methods"].split(",")}
    assert methods >= {"GET", "POST", "PATCH", "DELETE"}
    allowed_headers = response.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed_headers
    assert "content-type" in allowed_headers


async def test_preflight_from_another_origin_is_refused(http: httpx.AsyncClient) -> None:
    response = await http.options("/api/webapps", headers=preflight("https://evil.example"))
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


async def test_preflight_for_a_method_the_api_does_not_take_is_refused(
    http: httpx.AsyncClient,
) -> None:
    response = await http.options("/api/webapps", headers=preflight(ALLOWED, "PUT"))
    assert response.status_code == 400


async def test_a_cross_origin_read_exposes_the_etag(http: httpx.AsyncClient) -> None:
    response = await http.get("/api/webapps/default", headers={"Origin": ALLOWED})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED
    exposed = response.headers["access-control-expose-headers"].lower()
    assert "etag" in exposed


async def test_no_cors_headers_without_configured_origins() -> None:
    app, *_ = build(Settings(dev_user="alice"))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        response = await http.options("/api/webapps", headers=preflight(ALLOWED))
    assert "access-control-allow-origin" not in response.headers
