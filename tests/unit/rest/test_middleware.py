"""Request id, access log, HTTP metrics, CORS."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from kubeweft.logging import configure_logging
from kubeweft.rest.metrics import HTTP_REQUESTS
from kubeweft.settings import Settings
from tests.unit.rest.conftest import Harness, build

pytestmark = pytest.mark.anyio


async def test_request_id_is_echoed_when_given_and_generated_otherwise(harness: Harness) -> None:
    given = await harness.http.get("/api/webapps", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    generated = await harness.http.get("/api/webapps")
    assert len(generated.headers["x-request-id"]) == 32
    hostile = await harness.http.get("/api/webapps", headers={"X-Request-ID": "a b\tc"})
    assert hostile.headers["x-request-id"] != "a b\tc"


async def test_problem_bodies_carry_the_request_id(harness: Harness) -> None:
    response = await harness.http.get("/api/webapps/ns/missing", headers={"X-Request-ID": "r-1"})
    assert response.json()["requestId"] == "r-1"


async def test_one_json_access_log_line_per_request(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", "json")
    try:
        await harness.http.get("/api/webapps/ns/missing", headers={"X-Request-ID": "log-1"})
    finally:
        logging.getLogger().handlers[:] = []
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if "log-1" in line]
    access = [line for line in lines if line.get("logger") == "kubeweft.access"]
    assert len(access) == 1
    assert access[0]["status"] == 404
    assert access[0]["route"] == "/api/webapps/{namespace}/{name}"
    assert access[0]["user"] == "alice"


async def test_metrics_are_labelled_by_route_template(harness: Harness) -> None:
    labels = ("GET", "/api/webapps/{namespace}/{name}", "404")
    before = HTTP_REQUESTS.labels(*labels)._value.get()
    await harness.http.get("/api/webapps/ns/one")
    await harness.http.get("/api/webapps/ns/two")
    assert HTTP_REQUESTS.labels(*labels)._value.get() == before + 2


async def test_no_cors_headers_by_default(harness: Harness) -> None:
    response = await harness.http.get("/api/webapps", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in response.headers


async def test_cors_allows_configured_origins_only() -> None:
    app, *_ = build(Settings(dev_user="alice", cors_origins=["https://ui.example"]))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        ok = await http.get("/api/webapps", headers={"Origin": "https://ui.example"})
        other = await http.get("/api/webapps", headers={"Origin": "https://evil.example"})
    assert ok.headers["access-control-allow-origin"] == "https://ui.example"
    assert "access-control-allow-origin" not in other.headers
