"""A model declared only here gets its endpoints and schemas without new framework code."""

from __future__ import annotations

import httpx
import pytest
from pydantic import Field

from kubeweft.api import CustomResource, ModelInfo
from kubeweft.api.model import ResourceModel
from kubeweft.examples.webapp.api.v1 import WebApp
from kubeweft.rest.app import openapi_document
from tests.unit.rest.conftest import build

pytestmark = pytest.mark.anyio


class GadgetSpec(ResourceModel):
    colour: str = Field(pattern=r"^[a-z]+$")
    size: int = Field(default=1, ge=1, le=10)


class GadgetStatus(ResourceModel):
    polished: bool = False


class Gadget(CustomResource):
    model_info = ModelInfo(group="test.kubeweft.dev", version="v1", kind="Gadget", plural="gadgets")
    spec: GadgetSpec
    status: GadgetStatus = Field(default_factory=GadgetStatus)


def test_schemas_and_paths_are_generated() -> None:
    document = openapi_document([WebApp, Gadget])
    assert "/api/gadgets/{namespace}/{name}/annotations" in document["paths"]
    schemas = document["components"]["schemas"]
    assert {"GadgetCreate", "GadgetPatch", "GadgetRead", "GadgetListItem", "GadgetList"} <= set(
        schemas
    )


async def test_gadget_crud_through_the_generated_router() -> None:
    app, _kube, _store, authorizer, _ = build(models=(WebApp, Gadget))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        bad = await http.post(
            "/api/gadgets", json={"name": "g", "namespace": "n", "spec": {"colour": "Red!"}}
        )
        assert bad.status_code == 422
        assert [e["field"] for e in bad.json()["errors"]] == ["spec.colour"]
        created = await http.post(
            "/api/gadgets", json={"name": "g", "namespace": "n", "spec": {"colour": "red"}}
        )
        assert created.status_code == 201
        assert created.json()["spec"] == {"colour": "red", "size": 1}
        patched = await http.patch("/api/gadgets/n/g", json={"spec": {"size": 3}})
        assert patched.json()["spec"]["size"] == 3
        assert (await http.get("/api/gadgets/n")).json()["items"][0]["name"] == "g"
        assert (await http.get("/api/webapps/n")).json()["items"] == []
    assert {(a.group, a.resource) for a in authorizer.asked} >= {("test.kubeweft.dev", "gadgets")}
