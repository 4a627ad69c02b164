"""The CRD around the schema: names, versions, subresources, printer columns."""

from __future__ import annotations

from kubeweft.codegen import crd_for
from kubeweft.examples.webapp.api.v1 import WebApp
from tests.support.models import CronTab


def test_webapp_crd_names_and_scope() -> None:
    crd = crd_for(WebApp)
    assert crd["apiVersion"] == "apiextensions.k8s.io/v1"
    assert crd["kind"] == "CustomResourceDefinition"
    assert crd["metadata"]["name"] == "webapps.kubeweft.dev"
    spec = crd["spec"]
    assert spec["group"] == "kubeweft.dev"
    assert spec["scope"] == "Namespaced"
    assert spec["names"] == {
        "kind": "WebApp",
        "listKind": "WebAppList",
        "plural": "webapps",
        "singular": "webapp",
        "shortNames": ["wa"],
        "categories": ["kubeweft"],
    }


def test_webapp_version_is_served_stored_with_status_and_scale() -> None:
    (version,) = crd_for(WebApp)["spec"]["versions"]
    assert (version["name"], version["served"], version["storage"]) == ("v1", True, True)
    assert version["subresources"] == {
        "status": {},
        "scale": {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas"},
    }


def test_webapp_printer_columns_show_image_desired_ready_age() -> None:
    (version,) = crd_for(WebApp)["spec"]["versions"]
    assert version["additionalPrinterColumns"] == [
        {"name": "Image", "type": "string", "jsonPath": ".spec.image"},
        {"name": "Desired", "type": "integer", "jsonPath": ".spec.replicas"},
        {"name": "Ready", "type": "integer", "jsonPath": ".status.readyReplicas"},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ]


def test_second_model_without_scale_gets_no_scale_subresource() -> None:
    crd = crd_for(CronTab)
    (version,) = crd["spec"]["versions"]
    assert crd["metadata"]["name"] == "crontabs.test.kubeweft.dev"
    assert version["subresources"] == {"status": {}}
    assert "categories" not in crd["spec"]["names"]
    assert version["additionalPrinterColumns"][2] == {
        "name": "Active",
        "type": "integer",
        "jsonPath": ".status.active",
        "priority": 1,
    }
    schema = version["schema"]["openAPIV3Schema"]
    assert schema["description"] == "A job that runs on a schedule (test-only model)."
    assert schema["properties"]["spec"]["properties"]["concurrencyPolicy"]["default"] == "Allow"


def test_generation_is_deterministic() -> None:
    assert crd_for(WebApp) == crd_for(WebApp)
