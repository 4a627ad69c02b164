"""Request schemas state Kubernetes' rules for names and labels, and enforce them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kubeweft.api import names
from tests.unit.rest.conftest import Harness

pytestmark = pytest.mark.anyio

DOC = Path(__file__).parents[3] / "docs" / "openapi.json"


def new(name: str = "shop", **labels: str) -> dict[str, object]:
    return {"name": name, "namespace": "team-a", "labels": labels, "spec": {"image": "x"}}


@pytest.mark.parametrize("name", ["web.shop", "1shop", "a" * 64, "-shop", "Shop"])
async def test_create_refuses_names_a_service_cannot_take(harness: Harness, name: str) -> None:
    response = await harness.http.post("/api/webapps", json=new(name))
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["name"]
    assert harness.kube.writes == []


async def test_create_accepts_a_63_character_service_name(harness: Harness) -> None:
    response = await harness.http.post("/api/webapps", json=new("s" + "-" * 61 + "0"))
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    "labels",
    [
        {"a..b/c": "x"},
        {"-tier": "x"},
        {"x/" + "n" * 64: "x"},
        {"tier": "-web"},
        {"tier": "v" * 64},
    ],
)
async def test_create_and_patch_refuse_invalid_labels(
    harness: Harness, labels: dict[str, str]
) -> None:
    created = await harness.http.post("/api/webapps", json=new(**labels))
    assert created.status_code == 422, created.text
    assert all(e["field"].startswith("labels.") for e in created.json()["errors"])
    assert (await harness.http.post("/api/webapps", json=new())).status_code == 201
    patched = await harness.http.patch("/api/webapps/team-a/shop", json={"labels": labels})
    assert patched.status_code == 422, patched.text


async def test_create_accepts_prefixed_keys_and_empty_values(harness: Harness) -> None:
    labels = {"app.kubernetes.io/name": "shop", "xn--b-kva.example/x_y.z": "", "t": "a.b-c_d"}
    response = await harness.http.post("/api/webapps", json=new(**labels))
    assert response.status_code == 201, response.text
    assert response.json()["labels"] == labels


def test_the_document_states_the_label_and_name_syntax() -> None:
    schemas = json.loads(DOC.read_text())["components"]["schemas"]
    create = schemas["WebAppCreate"]["properties"]
    assert create["name"]["pattern"] == names.DNS1035_LABEL
    assert create["name"]["maxLength"] == 63
    for labels in (create["labels"], schemas["WebAppPatch"]["properties"]["labels"]):
        mapping = labels["anyOf"][0]
        keys = mapping["propertyNames"]
        assert [p["pattern"] for p in keys["allOf"]] == list(names.LABEL_KEY_PATTERNS)
        assert keys["maxLength"] == names.LABEL_KEY_MAX_LENGTH
        value = mapping["additionalProperties"]
        value = value.get("anyOf", [value])[0]
        assert (value["pattern"], value["maxLength"]) == (names.LABEL_VALUE, 63)


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        (None, "spec"),
        ({"image": None}, "spec.image"),
        ({"replicas": True}, "spec.replicas"),
        ({"replicas": "3"}, "spec.replicas"),
        ({"colour": "red"}, "spec.colour"),
        ({"resources": {"limits": {"cpu": "lots"}}}, "spec.resources.limits.cpu"),
    ],
)
async def test_a_patch_the_document_refuses_is_refused(
    harness: Harness, spec: object, field: str
) -> None:
    assert (await harness.http.post("/api/webapps", json=new())).status_code == 201
    response = await harness.http.patch("/api/webapps/team-a/shop", json={"spec": spec})
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]


async def test_a_patch_merges_nested_objects_and_null_restores_the_default(
    harness: Harness,
) -> None:
    body = {**new(), "spec": {"image": "x", "replicas": 3, "resources": {"limits": {"cpu": "1"}}}}
    assert (await harness.http.post("/api/webapps", json=body)).status_code == 201
    patch = {"spec": {"replicas": None, "resources": {"requests": {"memory": "1Gi"}}}}
    response = await harness.http.patch("/api/webapps/team-a/shop", json=patch)
    assert response.status_code == 200, response.text
    spec = response.json()["spec"]
    assert spec["replicas"] == 1
    assert spec["resources"] == {
        "limits": {"cpu": "1", "memory": None},
        "requests": {"cpu": None, "memory": "1Gi"},
    }


async def test_create_refuses_what_json_schema_calls_no_integer(harness: Harness) -> None:
    for replicas in (True, "3", 2.5):
        body = {**new(), "spec": {"image": "x", "replicas": replicas}}
        response = await harness.http.post("/api/webapps", json=body)
        assert response.status_code == 422, (replicas, response.text)
        assert [e["field"] for e in response.json()["errors"]] == ["spec.replicas"]


async def test_create_accepts_an_integral_float_as_json_schema_does(harness: Harness) -> None:
    body = {**new(), "spec": {"image": "x", "replicas": 7.0}}
    response = await harness.http.post("/api/webapps", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["spec"]["replicas"] == 7
