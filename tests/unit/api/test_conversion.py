"""A hub and its spoke: objects convert both ways, what the spoke cannot express
survives in the conversion annotation, metadata goes through untouched."""

import json
from typing import Any

import pytest

from kubeweft.api.conversion import CONVERSION_DATA, Conversion, ConversionError
from tests.support.models import Zone
from tests.support.versioned import GaugeV1, GaugeV2

CONVERSION = Conversion(GaugeV2, (GaugeV1,))
METADATA = {
    "name": "cpu",
    "uid": "6a1f",
    "resourceVersion": "42",
    "creationTimestamp": "2026-12-02T03:00:00Z",
    "labels": {"team": "a"},
    "managedFields": [{"manager": "kubectl", "operation": "Apply"}],
}


def gauge(version: str, spec: dict[str, Any], **metadata: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"versioned.kubeweft.test/{version}",
        "kind": "Gauge",
        "metadata": {**METADATA, **metadata},
        "spec": spec,
    }


def test_a_spoke_converts_to_the_hub_and_back_with_metadata_untouched() -> None:
    hub = CONVERSION.convert(gauge("v1", {"threshold": 80}), "versioned.kubeweft.test/v2")
    assert hub == gauge("v2", {"thresholds": [80], "unit": "percent"})
    assert "status" not in hub  # none came in, none goes out
    spoke = CONVERSION.convert(hub, "versioned.kubeweft.test/v1")
    assert spoke == gauge("v1", {"threshold": 80, "unit": "percent"})


def test_what_the_spoke_cannot_express_survives_a_round_trip_in_the_annotation() -> None:
    original = gauge("v2", {"thresholds": [80, 90, 95], "unit": "percent"})
    spoke = CONVERSION.convert(original, "versioned.kubeweft.test/v1")
    assert spoke["spec"] == {"threshold": 80, "unit": "percent"}
    saved = json.loads(spoke["metadata"]["annotations"][CONVERSION_DATA])
    assert saved == {"spec": {"thresholds": [80, 90, 95], "unit": "percent"}}
    assert {k: v for k, v in spoke["metadata"].items() if k != "annotations"} == METADATA

    back = CONVERSION.convert(spoke, "versioned.kubeweft.test/v2")
    assert back == original  # the annotation is gone again, the thresholds are back

    # An edit through the spoke wins over the annotation for what the spoke expresses.
    spoke["spec"]["threshold"] = 70
    edited = CONVERSION.convert(spoke, "versioned.kubeweft.test/v2")
    assert edited["spec"]["thresholds"] == [70, 90, 95]


def test_other_annotations_stay_and_a_lossless_spoke_gets_no_annotation() -> None:
    original = gauge("v2", {"thresholds": [80]}, annotations={"note": "keep"})
    spoke = CONVERSION.convert(original, "versioned.kubeweft.test/v1")
    assert spoke["metadata"]["annotations"] == {"note": "keep"}


def test_the_same_version_is_returned_as_it_came() -> None:
    obj = gauge("v1", {"threshold": 1, "unknownField": True})
    assert CONVERSION.convert(obj, "versioned.kubeweft.test/v1") is obj


@pytest.mark.parametrize(
    ("obj", "desired", "message"),
    [
        (gauge("v3", {}), "versioned.kubeweft.test/v2", "no version 'versioned.kubeweft.test/v3'"),
        (gauge("v1", {}), "versioned.kubeweft.test/v9", "no version"),
        (gauge("v1", {"threshold": "high"}), "versioned.kubeweft.test/v2", "spec.threshold"),
        (
            gauge("v1", {"threshold": 1}, annotations={CONVERSION_DATA: "{not json"}),
            "versioned.kubeweft.test/v2",
            "is no JSON",
        ),
    ],
)
def test_an_object_that_cannot_be_converted_is_a_conversion_error_naming_why(
    obj: dict[str, Any], desired: str, message: str
) -> None:
    with pytest.raises(ConversionError, match=message):
        CONVERSION.convert(obj, desired)


def test_a_spoke_must_be_a_version_of_the_same_kind_with_conversion_methods() -> None:
    with pytest.raises(ValueError, match="no version of Gauge"):
        Conversion(GaugeV2, (Zone,))
    with pytest.raises(ValueError, match="declared twice"):
        Conversion(GaugeV2, (GaugeV1, GaugeV1))
