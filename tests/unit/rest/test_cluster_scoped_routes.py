"""A cluster-scoped model's routes have no namespace segment and ask cluster-wide."""

from __future__ import annotations

import httpx
import pytest

from kubeweft.examples.webapp.api.v1alpha1 import WebApp
from kubeweft.rest.app import openapi_document
from tests.support.models import Zone
from tests.unit.rest.conftest import build

pytestmark = pytest.mark.anyio


def test_paths_have_no_namespace_segment() -> None:
    paths = set(openapi_document([WebApp, Zone])["paths"])
    zone_paths = {path for path in paths if path.startswith("/api/zones")}
    assert zone_paths == {
        "/api/zones",
        "/api/zones/{name}",
        "/api/zones/{name}/annotations",
        "/api/zones/{name}/annotations/{annotation_id}",
        "/api/zones/{name}/history",
        "/api/zones/{name}/metrics",
        "/api/zones/{name}/events",
        "/api/zones/{name}/owned",
        "/api/zones/{name}/rollback",
    }
    assert "/api/webapps/{namespace}/{name}" in paths


def test_create_schema_has_no_namespace() -> None:
    schemas = openapi_document([Zone])["components"]["schemas"]
    assert "namespace" not in schemas["ZoneCreate"]["properties"]
    assert (
        "namespace"
        in openapi_document([WebApp])["components"]["schemas"]["WebAppCreate"]["properties"]
    )


async def test_crud_without_a_namespace() -> None:
    app, kube, _store, authorizer, _ = build(models=(WebApp, Zone))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        with_namespace = await http.post(
            "/api/zones", json={"name": "z", "namespace": "n", "spec": {"capacity": 3}}
        )
        assert with_namespace.status_code == 422
        created = await http.post("/api/zones", json={"name": "z", "spec": {"capacity": 3}})
        assert created.status_code == 201, created.text
        assert created.headers["location"] == "/api/zones/z"
        assert created.json()["namespace"] is None
        assert (await kube.get(Zone, "z")).metadata.namespace is None
        detail = await http.get("/api/zones/z")
        assert detail.status_code == 200
        assert detail.json()["spec"] == {"capacity": 3, "description": ""}
        patched = await http.patch(
            "/api/zones/z",
            json={"spec": {"capacity": 5}},
            headers={"If-Match": detail.headers["etag"]},
        )
        assert patched.status_code == 200, patched.text
        assert patched.json()["spec"]["capacity"] == 5
        listed = await http.get("/api/zones")
        assert [item["name"] for item in listed.json()["items"]] == ["z"]
        assert (await http.delete("/api/zones/z")).status_code == 204
    zone_checks = [a for a in authorizer.asked if a.resource == "zones"]
    assert {a.verb for a in zone_checks} == {"create", "get", "patch", "list", "delete"}
    assert all(a.namespace is None for a in zone_checks)


async def test_a_refused_cluster_wide_list_is_403() -> None:
    app, _kube, _store, authorizer, _ = build(models=(Zone,))
    authorizer.deny.add(("list", None))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        refused = await http.get("/api/zones")
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
