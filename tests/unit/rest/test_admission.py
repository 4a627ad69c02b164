"""The REST layer runs a model's admission rules before it writes: defaults are in the
object written, a denial is a 422 problem naming the field and nothing is written,
warnings are ``Warning`` headers, and update and delete see the stored object."""

from typing import Any

import httpx
import pytest

from kubeweft.api.admission import AdmissionRequest, CustomValidator, Denied, Warnings, Webhook
from kubeweft.examples.webapp.api.v1 import WebApp
from tests.unit.rest.conftest import build


class Defaulter:
    async def default(self, request: AdmissionRequest, obj: Any) -> None:
        obj.spec.replicas = obj.spec.replicas or 2


class Validator(CustomValidator):
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str | None]] = []

    async def validate_create(self, request: AdmissionRequest, obj: Any) -> Warnings:
        self.seen.append((request.operation, request.user, None))
        return ['replicas "2" is a default', "second"]

    async def validate_update(self, request: AdmissionRequest, old: Any, new: Any) -> Warnings:
        self.seen.append((request.operation, request.user, old.spec.image))
        if new.spec.ports != old.spec.ports:
            raise Denied.field("spec.ports", "the ports are fixed")
        return []

    async def validate_delete(self, request: AdmissionRequest, obj: Any) -> Warnings:
        raise Denied.field("metadata.name", "kept")


@pytest.fixture
async def http() -> Any:
    app, kube, _store, _authorizer, context = build()
    validator = Validator()
    context.webhooks = {WebApp: Webhook(WebApp, defaulter=Defaulter(), validator=validator)}
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client, kube, validator


NEW = {"name": "shop", "namespace": "team-a", "spec": {"image": "shop:1", "replicas": 0}}


@pytest.mark.anyio
async def test_create_writes_the_defaults_and_answers_the_warnings(http: Any) -> None:
    client, kube, validator = http
    created = await client.post("/api/webapps", json=NEW)
    assert created.status_code == 201
    assert created.headers["warning"] == '299 - "replicas \\"2\\" is a default", 299 - "second"'
    stored = await kube.get(WebApp, "shop", "team-a")
    assert stored.spec.replicas == 2
    assert validator.seen == [("CREATE", "alice", None)]


@pytest.mark.anyio
async def test_an_update_is_checked_against_the_stored_object(http: Any) -> None:
    client, kube, validator = http
    assert (await client.post("/api/webapps", json=NEW)).status_code == 201
    merge = {"Content-Type": "application/merge-patch+json"}
    refused = await client.patch(
        "/api/webapps/team-a/shop",
        json={"spec": {"ports": [{"name": "http", "port": 9090}]}},
        headers=merge,
    )
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["errors"] == [{"field": "spec.ports", "message": "the ports are fixed"}]
    assert (await kube.get(WebApp, "shop", "team-a")).spec.ports[0].port == 8080
    assert validator.seen[-1] == ("UPDATE", "alice", "shop:1")


@pytest.mark.anyio
async def test_a_refused_delete_leaves_the_object(http: Any) -> None:
    client, kube, _ = http
    assert (await client.post("/api/webapps", json=NEW)).status_code == 201
    refused = await client.delete("/api/webapps/team-a/shop")
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "metadata.name"
    assert (await kube.get(WebApp, "shop", "team-a")).metadata.name == "shop"
