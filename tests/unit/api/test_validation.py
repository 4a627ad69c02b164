"""CEL rules reach the CRD as declared: on a type, on a field, and both together."""

from pydantic import ConfigDict, Field

from kubeweft.api import CustomResource, ModelInfo, ResourceModel
from kubeweft.api.validation import Rule, immutable, validations
from kubeweft.codegen.crd import openapi_schema

ON_TYPE = Rule("self.low <= self.high", message="low above high", field_path=".low")


class Band(ResourceModel):
    model_config = ConfigDict(json_schema_extra=validations(ON_TYPE))

    low: int = 0
    high: int = 0


class ProbeSpec(ResourceModel):
    band: Band = Field(json_schema_extra=validations(immutable("band is fixed")))
    spare: Band | None = None
    name: str = Field(
        json_schema_extra=validations(
            Rule(
                "self.size() > 2",
                message_expression="'too short: ' + self",
                reason="FieldValueInvalid",
            )
        )
    )


class Probe(CustomResource):
    model_info = ModelInfo(group="x.example.com", version="v1", kind="Probe", plural="probes")
    spec: ProbeSpec


def test_rules_of_a_type_and_of_its_field_are_both_kept() -> None:
    spec = openapi_schema(Probe)["properties"]["spec"]["properties"]
    assert spec["band"]["x-kubernetes-validations"] == [
        {"rule": "self.low <= self.high", "message": "low above high", "fieldPath": ".low"},
        {"rule": "self == oldSelf", "message": "band is fixed"},
    ]
    assert spec["spare"]["x-kubernetes-validations"] == [ON_TYPE.to_schema()]
    assert spec["name"]["x-kubernetes-validations"] == [
        {
            "rule": "self.size() > 2",
            "messageExpression": "'too short: ' + self",
            "reason": "FieldValueInvalid",
        }
    ]
