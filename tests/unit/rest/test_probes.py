"""The probe server: each check under its own timeout, failures named."""

from __future__ import annotations

import anyio
import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter

from kubeweft.rest.probes import Check, probe_app

pytestmark = pytest.mark.anyio


async def ok() -> None:
    return None


async def broken() -> None:
    raise ConnectionRefusedError("database refused the connection")


async def hangs() -> None:
    await anyio.sleep_forever()


async def test_readyz_names_each_failing_check() -> None:
    app = probe_app(
        liveness=[Check("manager", ok)],
        readiness=[
            Check("kubernetes", ok),
            Check("database", broken),
            Check("caches", hangs, timeout=0.05),
        ],
        registry=CollectorRegistry(),
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://p"
    ) as http:
        alive = await http.get("/healthz")
        ready = await http.get("/readyz")
    assert alive.status_code == 200
    assert ready.status_code == 503
    body = ready.json()
    assert body["failed"] == ["database", "caches"]
    assert body["checks"]["kubernetes"] == "ok"
    assert "refused" in body["checks"]["database"]
    assert body["checks"]["caches"] == "timed out after 0.05s"


async def test_metrics_exposes_the_registry() -> None:
    registry = CollectorRegistry()
    Counter("kubeweft_probe_test_total", "test", registry=registry).inc()
    app = probe_app(liveness=[], readiness=[], registry=registry)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://p"
    ) as http:
        text = (await http.get("/metrics")).text
    assert "kubeweft_probe_test_total 1.0" in text
