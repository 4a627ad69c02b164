"""HTTP metric labels come from closed sets, whatever methods and paths clients invent.

The parser (llhttp) passes some thirty methods beyond RFC 9110's to the app (WebDAV's,
PURGE, QUERY...) and answers 400 to other tokens; were the raw method a label value, a
client could still add series (and memory) for as long as the process lives.
"""

from __future__ import annotations

import random
import string

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from kubeweft.rest.middleware import STANDARD_METHODS, UNMATCHED_ROUTE
from kubeweft.rest.probes import probe_app
from kubeweft.runtime.metrics import REGISTRY
from tests.unit.rest.conftest import build
from tests.unit.rest.servers import serving

pytestmark = pytest.mark.anyio

HTTP_METRICS = ("kubeweft_http_requests", "kubeweft_http_request_duration_seconds")


# Methods llhttp parses that are not RFC 9110's (nor PATCH): they reach the app.
UNUSUAL_METHODS = ("PROPFIND", "MKCOL", "PURGE", "REPORT", "SUBSCRIBE", "LINK", "QUERY", "ACL")


def _random_method(rng: random.Random) -> str:
    """An unusual method the app sees, or an invented token the parser refuses."""
    if rng.random() < 0.5:
        return rng.choice(UNUSUAL_METHODS)
    return "".join(rng.choices(string.ascii_uppercase, k=12))


async def _http_series(probes: httpx.AsyncClient) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
    response = await probes.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items())))
        for family in text_string_to_metric_families(response.text)
        if family.name in HTTP_METRICS
        for sample in family.samples
    }


async def test_random_methods_and_paths_add_no_series() -> None:
    rng = random.Random(7)
    app = build()[0]
    probes_app = probe_app(liveness=[], readiness=[], registry=REGISTRY)
    async with (
        serving(app) as api,
        serving(probes_app) as probes,
        httpx.AsyncClient(base_url=api.url) as http,
        httpx.AsyncClient(base_url=probes.url) as probe_http,
    ):
        for path in ("/api/webapps", "/nowhere"):
            for _ in range(3):
                await http.request(_random_method(rng), path)
        before = await _http_series(probe_http)
        for index in range(200):
            path = "/api/webapps" if index % 2 else f"/nowhere/{index}"
            response = await http.request(_random_method(rng), path)
            assert response.status_code in (400, 404, 405)
        after = await _http_series(probe_http)

    assert after == before
    methods = {dict(labels)["method"] for _, labels in after if "method" in dict(labels)}
    routes = {dict(labels)["route"] for _, labels in after if "route" in dict(labels)}
    assert "other" in methods
    assert methods <= STANDARD_METHODS | {"other"}
    assert {"/api/webapps", UNMATCHED_ROUTE} <= routes
    assert not any(route.startswith("/nowhere") for route in routes)
