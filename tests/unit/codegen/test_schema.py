"""Pydantic JSON Schema → structural OpenAPI v3: every supported construct, and refusals."""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field

from kubeweft.api import names
from kubeweft.codegen import SchemaError, openapi_schema, structural_problems, structural_schema
from kubeweft.examples.webapp.api.v1 import WebApp
from tests.support.models import CronTab


def translate(model: type[BaseModel]) -> dict[str, Any]:
    return structural_schema(model.model_json_schema(by_alias=True, mode="validation"))


def walk(schema: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    nodes = [(path, schema)]
    for name, child in schema.get("properties", {}).items():
        nodes += walk(child, f"{path}.{name}")
    if isinstance(schema.get("items"), dict):
        nodes += walk(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        nodes += walk(schema["additionalProperties"], f"{path}{{}}")
    return nodes


@pytest.mark.parametrize("model", [WebApp, CronTab], ids=lambda m: m.__name__)
def test_model_schema_is_structural(model: type[WebApp] | type[CronTab]) -> None:
    schema = openapi_schema(model)
    assert structural_problems(schema) == []
    text = json.dumps(schema)
    for leftover in ('"$ref"', '"anyOf"', '"oneOf"', '"allOf"', '"$defs"', '"title"'):
        assert leftover not in text
    for path, node in walk(schema):
        assert "type" in node or node.get("x-kubernetes-int-or-string"), path


def test_structural_problems_reports_what_is_wrong() -> None:
    bad = {
        "type": "object",
        "properties": {
            "a": {"anyOf": [{"type": "string"}]},
            "b": {"description": "no type"},
            "c": {"type": "object", "properties": {}, "additionalProperties": {"type": "string"}},
        },
    }
    problems = structural_problems(bad)
    assert ".a: has anyOf" in problems
    assert ".a: no type" in problems
    assert ".b: no type" in problems
    assert ".c: both properties and additionalProperties" in problems


def test_webapp_validation_rules_reach_the_schema() -> None:
    spec = openapi_schema(WebApp)["properties"]["spec"]
    props = spec["properties"]
    assert spec["required"] == ["image"]
    assert props["image"] == {
        "type": "string",
        "description": "Container image to run.",
        "minLength": 1,
        "maxLength": 512,
    }
    assert props["replicas"] | {} == {
        "type": "integer",
        "description": "Desired number of pods.",
        "default": 1,
        "minimum": 0,
        "maximum": 100,
    }
    ports = props["ports"]
    assert ports["default"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    assert (ports["minItems"], ports["maxItems"]) == (1, 16)
    assert ports["x-kubernetes-list-type"] == "map"
    assert ports["x-kubernetes-list-map-keys"] == ["name"]
    assert ports["items"]["required"] == ["name", "port"]
    port = ports["items"]["properties"]["port"]
    assert (port["minimum"], port["maximum"]) == (1, 65535)
    assert ports["items"]["properties"]["protocol"]["enum"] == ["TCP", "UDP", "SCTP"]
    (rule,) = ports["x-kubernetes-validations"]
    assert "oldSelf" in rule["rule"]
    env = props["env"]
    assert env["x-kubernetes-list-type"] == "map"
    assert env["x-kubernetes-list-map-keys"] == ["name"]
    assert env["items"]["required"] == ["name"]
    assert env["items"]["properties"]["name"]["pattern"] == r"^[-._a-zA-Z][-._a-zA-Z0-9]*$"
    assert props["resources"]["nullable"] is True
    assert props["resources"]["properties"]["limits"]["properties"]["cpu"]["type"] == "string"


def test_webapp_status_conditions_are_a_map_by_type_with_date_times() -> None:
    status = openapi_schema(WebApp)["properties"]["status"]
    conditions = status["properties"]["conditions"]
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]
    item = conditions["items"]
    assert item["properties"]["lastTransitionTime"] == {"type": "string", "format": "date-time"}
    assert item["properties"]["status"]["enum"] == ["True", "False", "Unknown"]
    assert item["properties"]["observedGeneration"] == {
        "type": "integer",
        "minimum": 0,
        "nullable": True,
    }
    assert "default" not in status  # no top-level default for status


def test_envelope_is_fixed_and_metadata_constrains_only_the_name() -> None:
    schema = openapi_schema(WebApp)
    assert schema["required"] == ["spec"]
    # WebApp owns a Service named after it, so its name must be a Service name; the
    # API server allows a CRD to constrain metadata.name and nothing else of metadata.
    metadata = schema["properties"]["metadata"]
    assert metadata["type"] == "object"
    assert list(metadata["properties"]) == ["name"]
    name = metadata["properties"]["name"]
    assert (name["type"], name["maxLength"], name["pattern"]) == (
        "string",
        63,
        names.DNS1035_LABEL,
    )
    # A model that owns no Service keeps the API server's own name rule.
    assert openapi_schema(CronTab)["properties"]["metadata"] == {"type": "object"}
    assert schema["properties"]["apiVersion"]["type"] == "string"
    assert "default" not in schema["properties"]["apiVersion"]


class Colour(StrEnum):
    RED = "red"
    BLUE = "blue"


class Inner(BaseModel):
    """Inner doc."""

    when: datetime
    label: str = "x"


class Kitchen(BaseModel):
    colour: Colour = Colour.RED
    mode: Literal["a", "b"]
    fixed: Literal["only"] = "only"
    ratio: float = Field(gt=0, lt=1)
    count: int | None = Field(default=None, ge=1, multiple_of=2)
    inner: Inner = Field(description="Field doc wins.")
    maybe_inner: Inner | None = None
    mapping: dict[str, int] = Field(default_factory=dict, max_length=5)
    free: dict[str, Any] = Field(default_factory=dict)
    anything: Any = None
    port: int | str = 80
    tags: set[str] = Field(default_factory=set)
    nested_list: list[list[str]] = Field(default_factory=list)


def test_every_supported_construct() -> None:
    props = translate(Kitchen)["properties"]
    assert props["colour"] == {"type": "string", "enum": ["red", "blue"], "default": "red"}
    assert props["mode"] == {"type": "string", "enum": ["a", "b"]}
    assert props["fixed"]["enum"] == ["only"]
    assert props["ratio"] == {
        "type": "number",
        "minimum": 0,
        "exclusiveMinimum": True,
        "maximum": 1,
        "exclusiveMaximum": True,
    }
    assert props["count"] == {"type": "integer", "minimum": 1, "multipleOf": 2, "nullable": True}
    assert props["inner"]["description"] == "Field doc wins."
    assert props["inner"]["required"] == ["when"]
    assert props["inner"]["properties"]["when"]["format"] == "date-time"
    assert props["maybe_inner"]["nullable"] is True
    assert props["maybe_inner"]["description"] == "Inner doc."
    assert props["mapping"] == {
        "type": "object",
        "additionalProperties": {"type": "integer"},
        "maxProperties": 5,
    }
    assert props["free"] == {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    assert props["anything"] == {"x-kubernetes-preserve-unknown-fields": True}
    assert props["port"] == {"x-kubernetes-int-or-string": True, "default": 80}
    assert props["tags"] == {
        "type": "array",
        "items": {"type": "string"},
        "x-kubernetes-list-type": "set",
    }
    assert props["nested_list"]["items"] == {"type": "array", "items": {"type": "string"}}
    assert structural_problems(translate(Kitchen)) == []


class Tree(BaseModel):
    children: list[Tree] = Field(default_factory=list)


class Mixed(BaseModel):
    value: int | bool


class Pair(BaseModel):
    pair: tuple[int, str]


class MixedEnum(BaseModel):
    value: Literal[1, "one"]


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (Tree, "recursive model Tree"),
        (Mixed, "unions other than"),
        (Pair, "tuples"),
        (MixedEnum, "enum mixes value types"),
    ],
)
def test_unrepresentable_types_are_refused_with_their_path(
    model: type[BaseModel], message: str
) -> None:
    with pytest.raises(SchemaError, match=message):
        translate(model)


def test_unknown_keywords_are_refused_not_dropped() -> None:
    with pytest.raises(SchemaError, match="patternProperties"):
        structural_schema({"type": "object", "patternProperties": {"^a": {"type": "string"}}})


def test_unknown_formats_are_dropped_known_ones_kept() -> None:
    assert structural_schema({"type": "string", "format": "uri"})["format"] == "uri"
    assert "format" not in structural_schema({"type": "string", "format": "path"})
