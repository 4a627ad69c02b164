"""A process that serves no conversion webhook (``KUBEWEFT_WEBHOOK_CERTIFICATES=off``)
and a model with several versions, on the real API server.

With ``--install-crds`` a CRD whose versions share one schema gets ``conversion:
strategy: None``, so the API server converts by itself and a spoke version works; a
CRD whose versions differ keeps its webhook (only the webhook can convert them) and
start-up warns, naming the CRD and the fix. Each model has a group of its own: CRDs
are cluster-wide, and the session's other CRDs stay as they are.
"""

import dataclasses
import json
from collections.abc import Iterator
from typing import Any, Self

import pytest
from structlog.testing import capture_logs

from kubeweft.api import CustomResource, ModelInfo, ResourceModel
from kubeweft.api.conversion import Conversion
from kubeweft.app import ensure_crds
from kubeweft.localcluster import ClusterAccess
from kubeweft.runtime.client import Client
from tests.support import versioned

pytestmark = pytest.mark.anyio

RENAMED = "renamed.kubeweft.test"
RESHAPED = "reshaped.kubeweft.test"


class BeaconSpec(ResourceModel):
    interval_seconds: int = 30
    target: str = ""


class Beacon(CustomResource):
    """The hub: v1, the same fields as v1beta1 (a version promoted without a change)."""

    model_info = ModelInfo(
        group=RENAMED, version="v1", kind="Beacon", plural="beacons", namespaced=False
    )

    spec: BeaconSpec


class BeaconV1beta1(CustomResource):
    model_info = ModelInfo(
        group=RENAMED, version="v1beta1", kind="Beacon", plural="beacons", namespaced=False
    )

    spec: BeaconSpec

    def convert_to(self, restored: Beacon | None) -> Beacon:
        return Beacon(metadata=self.metadata, spec=self.spec)

    @classmethod
    def convert_from(cls, hub: Beacon) -> Self:
        return cls(metadata=hub.metadata, spec=hub.spec)


class Gauge(versioned.GaugeV2):
    """``v2.Gauge`` (a list of thresholds) in a group of its own."""

    model_info = dataclasses.replace(versioned.GaugeV2.model_info, group=RESHAPED)


class GaugeV1(versioned.GaugeV1):
    """``v1.Gauge`` (one threshold): another schema than its hub's."""

    model_info = dataclasses.replace(versioned.GaugeV1.model_info, group=RESHAPED)

    def convert_to(self, restored: versioned.GaugeV2 | None) -> Gauge:
        return Gauge.model_validate(super().convert_to(restored).to_dict())


def conversion_of(cluster: ClusterAccess, crd: str) -> dict[str, Any]:
    document = json.loads(cluster.kubectl("get", "crd", crd, "-o", "json").stdout)
    return dict(document["spec"].get("conversion") or {})


@pytest.fixture
def crds(local_cluster: ClusterAccess) -> Iterator[None]:
    try:
        yield
    finally:
        for model in (Beacon, Gauge):
            local_cluster.kubectl(
                "delete", "crd", model.model_info.crd_name, "--ignore-not-found", "--wait=false"
            )


async def test_versions_with_one_schema_are_converted_by_the_api_server(
    local_cluster: ClusterAccess, crds: None
) -> None:
    conversions = (Conversion(Beacon, (BeaconV1beta1,)),)
    crd = Beacon.model_info.crd_name
    async with Client.from_kubeconfig(local_cluster.kubeconfig_path) as client:
        # Installed by a process that served conversion: the webhook (config/'s Service).
        await ensure_crds(
            client, (Beacon,), install=True, manager="kubeweft-tests", conversions=conversions
        )
        assert conversion_of(local_cluster, crd)["strategy"] == "Webhook"

        with capture_logs() as logs:
            await ensure_crds(
                client,
                (Beacon,),
                install=True,
                manager="kubeweft-tests",
                conversions=conversions,
                serves_conversion=False,
            )
        assert conversion_of(local_cluster, crd) == {"strategy": "None"}
        assert not [entry for entry in logs if entry["log_level"] == "warning"]

        with local_cluster.http() as http:
            body = {
                "apiVersion": f"{RENAMED}/v1beta1",
                "kind": "Beacon",
                "metadata": {"name": "north"},
                "spec": {"intervalSeconds": 5, "target": "lighthouse"},
            }
            created = http.post(f"/apis/{RENAMED}/v1beta1/beacons", json=body)
            assert created.status_code == 201, created.text
            read = http.get(f"/apis/{RENAMED}/v1/beacons/north")
            assert read.status_code == 200, read.text
            assert read.json()["spec"] == body["spec"]

        # Served again: the webhook comes back.
        await ensure_crds(
            client, (Beacon,), install=True, manager="kubeweft-tests", conversions=conversions
        )
        assert conversion_of(local_cluster, crd)["strategy"] == "Webhook"


async def test_versions_with_other_schemas_keep_the_webhook_and_start_up_warns(
    local_cluster: ClusterAccess, crds: None
) -> None:
    conversions = (Conversion(Gauge, (GaugeV1,)),)
    crd = Gauge.model_info.crd_name
    async with Client.from_kubeconfig(local_cluster.kubeconfig_path) as client:
        with capture_logs() as logs:
            await ensure_crds(
                client,
                (Gauge,),
                install=True,
                manager="kubeweft-tests",
                conversions=conversions,
                serves_conversion=False,
            )
            # Installed by someone else (--no-install-crds): the same warning.
            await ensure_crds(
                client,
                (Gauge,),
                install=False,
                manager="kubeweft-tests",
                conversions=conversions,
                serves_conversion=False,
            )
    conversion = conversion_of(local_cluster, crd)
    assert conversion["strategy"] == "Webhook"
    service = conversion["webhook"]["clientConfig"]["service"]
    warnings = [entry for entry in logs if entry["log_level"] == "warning"]
    assert len(warnings) == 2
    for warning in warnings:
        assert warning["crd"] == crd
        assert warning["conversion_webhook"] == (
            f"the Service {service['namespace']}/{service['name']}"
        )
        assert "KUBEWEFT_WEBHOOK_CERTIFICATES=local" in warning["fix"]
        assert "same schema" in warning["fix"]
