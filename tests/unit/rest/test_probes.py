"""The probe server: each check under its own timeout, failures named."""

from __future__ import annotations

import anyio
import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter

from kubeweft.auth.identity import AuthenticationError, Decision, Identity, ReviewUnavailable
from kubeweft.rest.probes import Check, MetricsAuth, probe_app

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


class _Reviewers:
    """A TokenReview and SubjectAccessReview stand-in: who each token is, who may read."""

    def __init__(self, *, unavailable: bool = False) -> None:
        self.unavailable = unavailable
        self.asked: list[tuple[str, str, str]] = []

    async def verify(self, token: str) -> Identity:
        if self.unavailable:
            raise ReviewUnavailable("no API server")
        if token not in ("reader", "other"):
            raise AuthenticationError("unknown", challenge='Bearer error="invalid_token"')
        return Identity(user=token, groups=(), method="kubernetes")

    async def authorize_path(self, identity: Identity, path: str, verb: str) -> Decision:
        self.asked.append((identity.user, path, verb))
        return Decision(identity.user == "reader", f"{identity.user} may not {verb} {path}")


async def test_guarded_metrics_answer_401_403_503_and_200() -> None:
    reviewers = _Reviewers()
    registry = CollectorRegistry()
    Counter("guarded_total", "A metric behind the guard.", registry=registry).inc()
    app = probe_app(
        liveness=[Check("manager", ok)],
        readiness=[],
        registry=registry,
        guard=MetricsAuth(authenticator=reviewers, authorizer=reviewers),
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://p"
    ) as http:

        async def scrape(authorization: str | None) -> httpx.Response:
            headers = {"Authorization": authorization} if authorization else {}
            return await http.get("/metrics", headers=headers)

        assert (await scrape(None)).status_code == 401
        assert (await scrape("Basic cmVhZGVy")).status_code == 401
        refused = await scrape("Bearer forged")
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == 'Bearer error="invalid_token"'
        assert (await scrape("Bearer other")).status_code == 403
        allowed = await scrape("Bearer reader")
        assert allowed.status_code == 200
        assert "guarded_total 1.0" in allowed.text
        assert reviewers.asked[-1] == ("reader", "/metrics", "get")
        assert (await http.get("/healthz")).status_code == 200

        reviewers.unavailable = True
        unavailable = await scrape("Bearer reader")
        assert unavailable.status_code == 503
        assert unavailable.headers["retry-after"] == "1"
