"""The generated WebApp CRD on a real kube-apiserver: accepted as structural, printer
columns shown by kubectl, defaults applied and invalid specs rejected by the server."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from kubeweft.localcluster import ClusterAccess

pytestmark = pytest.mark.localcluster


def webapp(name: str, **spec: Any) -> str:
    body = {"image": "nginx:1.27", **spec}
    return yaml.safe_dump(
        {
            "apiVersion": "kubeweft.dev/v1",
            "kind": "WebApp",
            "metadata": {"name": name},
            "spec": {k: v for k, v in body.items() if v is not None},
        }
    )


def get_json(cluster: ClusterAccess, *args: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(cluster.kubectl("get", *args, "-o", "json").stdout)
    return result


def test_crd_is_established_and_structural(local_cluster: ClusterAccess, webapp_crd: str) -> None:
    crd = get_json(local_cluster, "crd", webapp_crd)
    conditions = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
    assert conditions["Established"] == "True"
    assert conditions["NamesAccepted"] == "True"
    assert "NonStructuralSchema" not in conditions
    assert crd["status"]["acceptedNames"]["shortNames"] == ["wa"]


def test_server_applies_defaults(
    local_cluster: ClusterAccess, webapp_crd: str, namespace: str
) -> None:
    local_cluster.kubectl("create", "-n", namespace, "-f", "-", input=webapp("plain"))
    spec = get_json(local_cluster, "-n", namespace, "webapp", "plain")["spec"]
    assert spec == {
        "image": "nginx:1.27",
        "replicas": 1,
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
    }


def test_kubectl_get_shows_image_desired_ready_age(
    local_cluster: ClusterAccess, webapp_crd: str, namespace: str
) -> None:
    local_cluster.kubectl("create", "-n", namespace, "-f", "-", input=webapp("shop", replicas=3))
    local_cluster.kubectl(
        "patch", "-n", namespace, "webapp", "shop", "--subresource=status", "--type=merge",
        "-p", json.dumps({"status": {"readyReplicas": 2, "replicas": 3}}),
    )  # fmt: skip
    output = local_cluster.kubectl("get", "-n", namespace, "webapps").stdout.splitlines()
    assert output[0].split() == ["NAME", "IMAGE", "DESIRED", "READY", "AGE"]
    assert output[1].split()[:4] == ["shop", "nginx:1.27", "3", "2"]
    # The short name and the category resolve too.
    assert "shop" in local_cluster.kubectl("get", "-n", namespace, "wa").stdout
    assert "shop" in local_cluster.kubectl("get", "-n", namespace, "kubeweft").stdout


INVALID: list[tuple[str, dict[str, Any], str]] = [
    ("replicas-1000", {"replicas": 1000}, "spec.replicas"),
    ("replicas-negative", {"replicas": -1}, "spec.replicas"),
    ("missing-image", {"image": None}, "spec.image"),
    ("empty-image", {"image": ""}, "spec.image"),
    ("port-0", {"ports": [{"name": "http", "port": 0}]}, "spec.ports[0].port"),
    ("port-70000", {"ports": [{"name": "http", "port": 70000}]}, "spec.ports[0].port"),
    ("port-unnamed", {"ports": [{"port": 80}]}, "spec.ports[0].name"),
    ("port-name", {"ports": [{"name": "HTTP", "port": 80}]}, "spec.ports[0].name"),
    ("ports-none", {"ports": []}, "spec.ports"),
    (
        "ports-same-name",
        {"ports": [{"name": "a", "port": 1}, {"name": "a", "port": 2}]},
        "spec.ports[1]",
    ),
    ("env-name-digit", {"env": [{"name": "1BAD", "value": "x"}]}, "spec.env[0].name"),
    ("env-name-space", {"env": [{"name": "A B"}]}, "spec.env[0].name"),
    ("env-duplicate", {"env": [{"name": "A"}, {"name": "A"}]}, "spec.env[1]"),
    ("cpu-quantity", {"resources": {"limits": {"cpu": "lots"}}}, "spec.resources.limits.cpu"),
    ("replicas-string", {"replicas": "three"}, "spec.replicas"),
    ("unknown-field", {"colour": "red"}, "colour"),
]


@pytest.mark.parametrize(("case", "spec", "field"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid_specs_are_rejected_by_the_api_server(
    local_cluster: ClusterAccess,
    webapp_crd: str,
    namespace: str,
    case: str,
    spec: dict[str, Any],
    field: str,
) -> None:
    result = local_cluster.kubectl(
        "create", "-n", namespace, "-f", "-", input=webapp(case, **spec), check=False
    )
    assert result.returncode != 0, result.stdout
    assert field in result.stderr, result.stderr
    absent = local_cluster.kubectl("get", "-n", namespace, "webapp", case, check=False)
    assert "NotFound" in absent.stderr


def test_a_spec_without_spec_is_rejected(
    local_cluster: ClusterAccess, webapp_crd: str, namespace: str
) -> None:
    manifest = {"apiVersion": "kubeweft.dev/v1", "kind": "WebApp", "metadata": {"name": "x"}}
    result = local_cluster.kubectl(
        "create", "-n", namespace, "-f", "-", input=json.dumps(manifest), check=False
    )
    assert result.returncode != 0
    assert "spec: Required value" in result.stderr


def test_status_is_validated_too(
    local_cluster: ClusterAccess, webapp_crd: str, namespace: str
) -> None:
    local_cluster.kubectl("create", "-n", namespace, "-f", "-", input=webapp("st"))
    condition = {
        "type": "Ready",
        "status": "Maybe",
        "lastTransitionTime": "2026-01-01T00:00:00Z",
        "reason": "Testing",
    }
    result = local_cluster.kubectl(
        "patch", "-n", namespace, "webapp", "st", "--subresource=status", "--type=merge",
        "-p", json.dumps({"status": {"conditions": [condition]}}), check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "status.conditions[0].status" in result.stderr
    condition["status"] = "True"
    local_cluster.kubectl(
        "patch", "-n", namespace, "webapp", "st", "--subresource=status", "--type=merge",
        "-p", json.dumps({"status": {"conditions": [condition]}}),
    )  # fmt: skip
    status = get_json(local_cluster, "-n", namespace, "webapp", "st")["status"]
    assert status["conditions"][0]["status"] == "True"
    assert status["readyReplicas"] == 0  # defaulted by the server


def test_scale_subresource(local_cluster: ClusterAccess, webapp_crd: str, namespace: str) -> None:
    local_cluster.kubectl("create", "-n", namespace, "-f", "-", input=webapp("sc"))
    local_cluster.kubectl("scale", "-n", namespace, "webapp/sc", "--replicas=4")
    assert get_json(local_cluster, "-n", namespace, "webapp", "sc")["spec"]["replicas"] == 4
    refused = local_cluster.kubectl(
        "scale", "-n", namespace, "webapp/sc", "--replicas=1000", check=False
    )
    assert refused.returncode != 0
    assert get_json(local_cluster, "-n", namespace, "webapp", "sc")["spec"]["replicas"] == 4


def test_checked_in_sample_is_accepted(
    local_cluster: ClusterAccess, webapp_crd: str, namespace: str
) -> None:
    from tests.integration.codegen.installing import REPO

    local_cluster.kubectl("apply", "-n", namespace, "-k", str(REPO / "config" / "samples"))
    spec = get_json(local_cluster, "-n", namespace, "webapp", "webapp-sample")["spec"]
    assert spec["replicas"] == 2
    assert spec["env"] == [{"name": "GREETING", "value": "hello"}]


@pytest.mark.parametrize("name", ["web.shop", "1shop", "s" * 64])
def test_a_name_its_service_cannot_take_is_rejected_by_the_api_server(
    local_cluster: ClusterAccess, webapp_crd: str, namespace: str, name: str
) -> None:
    # The WebApp's Service takes its name, and a Service name is an RFC 1035 label:
    # refused here, a dotted name would make every reconcile fail on the Service.
    result = local_cluster.kubectl(
        "apply", "-n", namespace, "-f", "-", input=webapp(name), check=False
    )
    assert result.returncode != 0, result.stdout
    assert "metadata.name" in result.stderr, result.stderr
    assert local_cluster.kubectl("get", "-n", namespace, "webapps", "-o", "name").stdout == ""


def test_a_63_character_service_name_is_accepted(
    local_cluster: ClusterAccess, webapp_crd: str, namespace: str
) -> None:
    name = "s" + "-" * 61 + "0"
    local_cluster.kubectl("apply", "-n", namespace, "-f", "-", input=webapp(name))
    assert get_json(local_cluster, "-n", namespace, "webapp", name)["metadata"]["name"] == name
