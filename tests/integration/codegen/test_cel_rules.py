"""CEL rules (``x-kubernetes-validations``) on the real API server: every rule every
example model declares compiles, a rule is enforced with its field path and message,
and a transition rule keeps an immutable field as it was."""

from __future__ import annotations

import copy
import importlib
import json
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import Field

from kubeweft.api import CustomResource, ModelInfo, ResourceModel
from kubeweft.api.validation import Rule, immutable, validations
from kubeweft.codegen.crd import crd_for
from kubeweft.localcluster import ClusterAccess
from tests.support.crds import install_crd

REPO = Path(__file__).resolve().parents[3]
GROUP = "cel.test.kubeweft.dev"


def example_apps() -> list[Any]:
    """The shipped example and every project under examples/ (``<name>/src/<name>/app.py``)."""
    found = [importlib.import_module("kubeweft.examples.webapp").app]
    for app_module in sorted(REPO.glob("examples/*/src/*/app.py")):
        source = str(app_module.parents[1])
        if source not in sys.path:
            sys.path.insert(0, source)
        found.append(importlib.import_module(f"{app_module.parent.name}.app").app)
    return found


def rules_in(schema: Any) -> list[dict[str, Any]]:
    if isinstance(schema, dict):
        own = list(schema.get("x-kubernetes-validations", []))
        return own + [rule for value in schema.values() for rule in rules_in(value)]
    if isinstance(schema, list):
        return [rule for value in schema for rule in rules_in(value)]
    return []


def renamed(crd: dict[str, Any], group: str) -> dict[str, Any]:
    """The CRD in another group, so the API server compiles it as a new one."""
    copied = copy.deepcopy(crd)
    copied["spec"]["group"] = group
    copied["metadata"]["name"] = f"{copied['spec']['names']['plural']}.{group}"
    return copied


def dry_run_create(cluster: ClusterAccess, crd: dict[str, Any]) -> Any:
    return cluster.kubectl(
        "create", "--dry-run=server", "-o", "name", "-f", "-", input=json.dumps(crd), check=False
    )


def test_every_rule_of_every_example_model_compiles_on_the_api_server(
    local_cluster: ClusterAccess,
) -> None:
    crds = [
        crd_for(model, {c.hub: c for c in app.conversions}.get(model))
        for app in example_apps()
        for model in app.models
    ]
    declared = [rule for crd in crds for rule in rules_in(crd)]
    assert any(r.get("messageExpression") for r in declared), "WebApp declares CEL rules"
    for crd in crds:
        group = f"c{secrets.token_hex(4)}.{GROUP}"
        result = dry_run_create(local_cluster, renamed(crd, group))
        assert result.returncode == 0, f"{crd['metadata']['name']}: {result.stderr}"


def test_a_rule_that_does_not_compile_is_refused_by_the_same_check(
    local_cluster: ClusterAccess,
) -> None:
    crd = crd_for(Locker)
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    schema["properties"]["spec"]["x-kubernetes-validations"] = [{"rule": "self.zone +"}]
    result = dry_run_create(local_cluster, renamed(crd, f"c{secrets.token_hex(4)}.{GROUP}"))
    assert result.returncode != 0
    assert "compilation failed" in result.stderr


def test_webapp_requests_above_limits_are_refused_naming_the_field(
    local_cluster: ClusterAccess, webapp_crd: str, namespace: str
) -> None:
    body = {
        "apiVersion": "kubeweft.dev/v1",
        "kind": "WebApp",
        "metadata": {"name": "greedy", "namespace": namespace},
        "spec": {
            "image": "nginx:1.27",
            "resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1500m"}},
        },
    }
    with local_cluster.http() as http:
        response = http.post(f"/apis/kubeweft.dev/v1/namespaces/{namespace}/webapps", json=body)
    assert response.status_code == 422
    causes = response.json()["details"]["causes"]
    assert [c["field"] for c in causes] == ["spec.resources.requests.cpu"]
    assert causes[0]["message"].endswith("requests.cpu 2 exceeds limits.cpu 1500m")


def test_webapp_ports_keep_their_names_on_update(
    local_cluster: ClusterAccess, webapp_crd: str, namespace: str
) -> None:
    url = f"/apis/kubeweft.dev/v1/namespaces/{namespace}/webapps"
    body = {
        "apiVersion": "kubeweft.dev/v1",
        "kind": "WebApp",
        "metadata": {"name": "ports"},
        "spec": {"image": "nginx:1.27", "ports": [{"name": "http", "port": 8080}]},
    }
    merge = {"Content-Type": "application/merge-patch+json"}

    def ports(*items: tuple[str, int]) -> dict[str, Any]:
        return {"spec": {"ports": [{"name": name, "port": port} for name, port in items]}}

    with local_cluster.http() as http:
        assert http.post(url, json=body).status_code == 201
        renamed = http.patch(f"{url}/ports", json=ports(("web", 8080)), headers=merge)
        assert renamed.status_code == 422
        causes = renamed.json()["details"]["causes"]
        assert [c["field"] for c in causes] == ["spec.ports"]
        assert "a port's name cannot change" in causes[0]["message"]
        # Adding a port, and moving a name to another port number, are updates.
        added = http.patch(
            f"{url}/ports", json=ports(("http", 8080), ("metrics", 9100)), headers=merge
        )
        assert added.status_code == 200, added.text
        moved = http.patch(f"{url}/ports", json=ports(("http", 8081)), headers=merge)
        assert moved.status_code == 200, moved.text


class LockerSpec(ResourceModel):
    zone: str = Field(json_schema_extra=validations(immutable("zone is immutable")))
    size: int = 1


class Locker(CustomResource):
    model_info = ModelInfo(group=GROUP, version="v1", kind="Locker", plural="lockers")
    spec: LockerSpec = Field(
        json_schema_extra=validations(
            Rule("self.size <= 10 || self.zone == 'big'", message="only zone big holds more")
        )
    )


@pytest.fixture
def locker_crd(local_cluster: ClusterAccess, tmp_path: Path) -> Iterator[str]:
    path = tmp_path / "lockers.yaml"
    path.write_text(json.dumps(crd_for(Locker)))
    install_crd(local_cluster, path, Locker.model_info.crd_name)
    try:
        yield Locker.model_info.crd_name
    finally:
        local_cluster.kubectl("delete", "crd", Locker.model_info.crd_name, "--wait=false")


def test_a_transition_rule_keeps_a_field_immutable(
    local_cluster: ClusterAccess, locker_crd: str, namespace: str
) -> None:
    url = f"/apis/{GROUP}/v1/namespaces/{namespace}/lockers"
    body = {"apiVersion": f"{GROUP}/v1", "kind": "Locker", "metadata": {"name": "l"}}
    with local_cluster.http() as http:
        too_big = http.post(url, json={**body, "spec": {"zone": "a", "size": 11}})
        assert too_big.status_code == 422
        assert "only zone big holds more" in too_big.text
        assert http.post(url, json={**body, "spec": {"zone": "a"}}).status_code == 201
        merge = {"Content-Type": "application/merge-patch+json"}
        moved = http.patch(f"{url}/l", json={"spec": {"zone": "b"}}, headers=merge)
        assert moved.status_code == 422
        causes = moved.json()["details"]["causes"]
        assert [c["field"] for c in causes] == ["spec.zone"]
        assert causes[0]["message"].endswith("zone is immutable")
        assert http.patch(f"{url}/l", json={"spec": {"size": 2}}, headers=merge).status_code == 200
