"""A model with several versions: every version served, the hub stored, conversion by
the webhook; ``kubeweft manifests`` writes the Service, RBAC and cert-manager patch."""

import subprocess
from pathlib import PurePosixPath
from typing import Any, Self

import pytest
import yaml
from pydantic import Field

from kubeweft.api import CustomResource, ModelInfo, ResourceModel
from kubeweft.api.conversion import Conversion
from kubeweft.application import App
from kubeweft.codegen import manifests
from kubeweft.codegen.crd import crd_for, versions_share_schema
from kubeweft.codegen.webhooks import url_client_config
from tests.support.versioned import GaugeV1, GaugeV2
from tests.unit.codegen.test_config import CONFIG, project_kubectl

CONVERSION = Conversion(GaugeV2, (GaugeV1,))


def test_every_version_is_served_the_hub_stored_and_converted_by_the_webhook() -> None:
    crd = crd_for(GaugeV2, CONVERSION)
    versions = {v["name"]: v for v in crd["spec"]["versions"]}
    assert [(v["name"], v["served"], v["storage"]) for v in crd["spec"]["versions"]] == [
        ("v2", True, True),
        ("v1", True, False),
    ]
    assert (
        "thresholds"
        in versions["v2"]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    )
    assert (
        "threshold"
        in versions["v1"]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    )
    assert crd["spec"]["scope"] == "Cluster"
    assert crd["spec"]["conversion"] == {
        "strategy": "Webhook",
        "webhook": {
            "conversionReviewVersions": ["v1"],
            "clientConfig": {
                "service": {
                    "name": "webhook-service",
                    "namespace": "system",
                    "path": "/convert",
                    "port": 443,
                }
            },
        },
    }


def test_a_url_and_ca_bundle_can_be_given_and_one_version_has_no_conversion() -> None:
    crd = crd_for(
        GaugeV2,
        CONVERSION,
        client_config=url_client_config("https://127.0.0.1:9443"),
        ca_bundle=b"CA",
    )
    assert crd["spec"]["conversion"]["webhook"]["clientConfig"] == {
        "url": "https://127.0.0.1:9443/convert",
        "caBundle": "Q0E=",
    }
    assert "conversion" not in crd_for(GaugeV2)["spec"]
    assert len(crd_for(GaugeV2)["spec"]["versions"]) == 1


def test_manifests_add_the_webhook_service_crd_rbac_and_the_cert_manager_component() -> None:
    app = App("gauges")
    app.add_model(GaugeV2, spokes=(GaugeV1,))
    assert app.conversions == (CONVERSION,)
    files = {
        f.path: f.text
        for f in manifests.generated_files(
            app.models, app_name=app.name, conversions=app.conversions
        )
    }
    (crd,) = yaml.safe_load_all(
        files[PurePosixPath("crd/bases/versioned.kubeweft.test_gauges.yaml")]
    )
    assert crd["spec"]["conversion"]["strategy"] == "Webhook"
    assert PurePosixPath("webhook/service.yaml") in files
    assert PurePosixPath("webhook/manifests.yaml") not in files  # no admission webhook
    rbac = list(yaml.safe_load_all(files[PurePosixPath("webhook/certificate_rbac.yaml")]))
    (cluster_role,) = [d for d in rbac if d["kind"] == "ClusterRole"]
    assert cluster_role["rules"] == [
        {
            "apiGroups": ["apiextensions.k8s.io"],
            "resources": ["customresourcedefinitions"],
            "resourceNames": ["gauges.versioned.kubeweft.test"],
            "verbs": ["get", "patch"],
        }
    ]
    (component,) = yaml.safe_load_all(files[PurePosixPath("crd/patches/kustomization.yaml")])
    assert component["kind"] == "Component"
    (patch,) = component["patches"]
    assert patch["target"] == {
        "kind": "CustomResourceDefinition",
        "name": "gauges.versioned.kubeweft.test",
    }
    assert "cert-manager.io/inject-ca-from: gauges-system/gauges-serving-cert" in patch["patch"]


def rendered_crd(overlay: str) -> dict[str, Any]:
    kubectl = project_kubectl()
    done = subprocess.run(
        [kubectl, "kustomize", str(CONFIG / overlay)], capture_output=True, text=True, check=True
    )
    (crd,) = [
        d for d in yaml.safe_load_all(done.stdout) if d and d["kind"] == "CustomResourceDefinition"
    ]
    result: dict[str, Any] = crd
    return result


@pytest.mark.localcluster  # runs the local control plane's kubectl
def test_kustomize_points_the_webapp_conversion_at_the_renamed_service() -> None:
    for overlay in ("default", "cert-manager"):
        crd = rendered_crd(overlay)
        assert crd["spec"]["conversion"]["webhook"]["clientConfig"]["service"] == {
            "name": "kubeweft-webhook-service",
            "namespace": "kubeweft-system",
            "path": "/convert",
            "port": 443,
        }
    # cert-manager's CA injector fills in its caBundle; without cert-manager, the leader.
    assert rendered_crd("cert-manager")["metadata"]["annotations"] == {
        "cert-manager.io/inject-ca-from": "kubeweft-system/kubeweft-serving-cert"
    }
    assert "annotations" not in rendered_crd("default")["metadata"]


# --- versions the API server can convert by itself (conversion strategy None) -----------


NOTES = "notes.kubeweft.test"


class NoteSpecV1(ResourceModel):
    """A note, documented for v1: the fields of v1beta1 unchanged."""

    description: str = Field("", description="What the note says.")
    pages: int = Field(1, description="How long it is.")


class NoteV1(CustomResource):
    model_info = ModelInfo(group=NOTES, version="v1", kind="Note", plural="notes")

    spec: NoteSpecV1


class NoteSpecV1beta1(ResourceModel):
    description: str = ""
    pages: int = 1


class NoteV1beta1(CustomResource):
    model_info = ModelInfo(group=NOTES, version="v1beta1", kind="Note", plural="notes")

    spec: NoteSpecV1beta1

    def convert_to(self, restored: NoteV1 | None) -> NoteV1:
        return NoteV1.model_validate(self.to_dict())

    @classmethod
    def convert_from(cls, hub: NoteV1) -> Self:
        return cls.model_validate(hub.to_dict())


class NoteSpecV1alpha1(ResourceModel):
    pages: int = 1


class NoteV1alpha1(NoteV1beta1):
    """No ``description`` field: a property of that name is a field, not documentation."""

    model_info = ModelInfo(group=NOTES, version="v1alpha1", kind="Note", plural="notes")

    spec: NoteSpecV1alpha1  # type: ignore[assignment]


def test_versions_share_a_schema_when_only_their_descriptions_differ() -> None:
    assert versions_share_schema(Conversion(NoteV1, (NoteV1beta1,)))
    assert not versions_share_schema(Conversion(NoteV1, (NoteV1alpha1,)))
    assert not versions_share_schema(Conversion(NoteV1, (NoteV1beta1, NoteV1alpha1)))
    assert not versions_share_schema(CONVERSION)
