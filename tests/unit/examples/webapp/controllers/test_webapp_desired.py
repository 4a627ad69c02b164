"""Desired Deployment/Service and the owned-fields comparison."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest
from lightkube.models import core_v1

from kubeweft.examples.webapp.controllers import webapp_desired as desired
from tests.unit.examples.webapp.controllers.builders import as_server_returns, make_webapp

SELECTOR = {"app.kubernetes.io/name": "shop", "app.kubernetes.io/instance": "shop"}


def test_deployment_carries_labels_selector_container_and_controller_owner() -> None:
    webapp = make_webapp(
        replicas=3,
        ports=[{"name": "web", "port": 9000}, {"name": "dns", "port": 53, "protocol": "UDP"}],
        env=[{"name": "MODE", "value": "prod"}],
        resources={"requests": {"cpu": "250m"}, "limits": {"memory": "256Mi"}},
    )
    dep = desired.desired_deployment(webapp, {"kubeweft.dev/generation": "1"})

    assert dep.metadata.name == "shop"
    assert dep.metadata.namespace == "default"
    assert dep.metadata.labels == {**SELECTOR, "app.kubernetes.io/managed-by": "kubeweft"}
    assert dep.metadata.annotations == {"kubeweft.dev/generation": "1"}
    assert dep.metadata.ownerReferences is None  # create_or_update sets the controller
    assert dep.spec.replicas == 3
    assert dep.spec.selector.matchLabels == SELECTOR
    assert dep.spec.template.metadata.labels == dep.metadata.labels
    (container,) = dep.spec.template.spec.containers
    assert container.image == "nginx:1.27"
    assert [(p.containerPort, p.name, p.protocol) for p in container.ports] == [
        (9000, "web", "TCP"),
        (53, "dns", "UDP"),
    ]
    assert [(e.name, e.value) for e in container.env] == [("MODE", "prod")]
    assert container.resources.requests == {"cpu": "250m"}
    assert container.resources.limits == {"memory": "256Mi"}


def test_service_selects_the_pods_on_every_webapp_port() -> None:
    ports = [{"name": "http", "port": 9000}, {"name": "metrics", "port": 9100}]
    svc = desired.desired_service(make_webapp(ports=ports))
    assert svc.metadata.name == "shop"
    assert svc.spec.selector == SELECTOR
    assert [(p.name, p.port, p.targetPort, p.protocol) for p in svc.spec.ports] == [
        ("http", 9000, 9000, "TCP"),
        ("metrics", 9100, 9100, "TCP"),
    ]


def test_no_change_to_server_defaulted_objects() -> None:
    webapp = make_webapp(
        replicas=2,
        env=[{"name": "EMPTY", "value": ""}, {"name": "A", "value": "1"}],
        resources={"requests": {"cpu": "0.5", "memory": "1024Mi"}},
    )
    dep = desired.desired_deployment(webapp, {"kubeweft.dev/generation": "1"})
    svc = desired.desired_service(webapp)
    live_dep, live_svc = as_server_returns(dep), as_server_returns(svc)
    assert desired.update_deployment(live_dep, dep) == []
    assert desired.update_service(live_svc, svc) == []
    assert live_dep == as_server_returns(dep)  # not touched: nothing to write
    assert live_svc == as_server_returns(svc)


def test_extra_labels_and_annotations_added_by_others_are_kept() -> None:
    webapp = make_webapp()
    dep = desired.desired_deployment(webapp, {"kubeweft.dev/generation": "1"})
    live = as_server_returns(dep)
    live.metadata.labels["team"] = "web"
    live.metadata.annotations["deployment.kubernetes.io/revision"] = "3"
    assert desired.update_deployment(live, dep) == []
    assert live.metadata.labels["team"] == "web"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"image": "nginx:1.28"}, ["image"]),
        ({"replicas": 5}, ["replicas"]),
        ({"ports": [{"name": "http", "port": 81}]}, ["port"]),
        ({"ports": [{"name": "http", "port": 8080}, {"name": "m", "port": 9100}]}, ["port"]),
        ({"env": [{"name": "A", "value": "2"}]}, ["env"]),
        ({"resources": {"limits": {"cpu": "1"}}}, ["resources"]),
    ],
)
def test_each_owned_field_is_set_and_named(change: dict[str, object], expected: list[str]) -> None:
    before = make_webapp(env=[{"name": "A", "value": "1"}])
    live = as_server_returns(desired.desired_deployment(before, {}))
    after = make_webapp(**{"env": [{"name": "A", "value": "1"}], **change})
    want = desired.desired_deployment(after, {})
    assert desired.update_deployment(live, want) == expected
    assert desired.update_deployment(live, want) == []  # now it matches


def test_hand_edits_are_reverted_keeping_server_fields() -> None:
    webapp = make_webapp(replicas=3)
    want = desired.desired_deployment(webapp, {"kubeweft.dev/generation": "1"})
    live = as_server_returns(want)
    live.spec.replicas = 7
    live.spec.template.spec.containers[0].image = "evil:latest"
    live.metadata.annotations["kubeweft.dev/generation"] = "0"
    live.spec.template.spec.containers.append(core_v1.Container(name="sidecar", image="x"))

    changed = desired.update_deployment(live, want)

    assert changed == ["annotations", "replicas", "containers", "image"]
    assert desired.update_deployment(live, want) == []
    assert live.spec.replicas == 3
    assert [c.name for c in live.spec.template.spec.containers] == ["app"]
    app = live.spec.template.spec.containers[0]
    assert app.image == "nginx:1.27"
    assert app.terminationMessagePath == "/dev/termination-log"  # server field kept
    assert live.spec.strategy.type == "RollingUpdate"
    assert live.metadata.resourceVersion == "100"  # update stays conditional


def test_service_update_keeps_allocated_fields() -> None:
    want = desired.desired_service(make_webapp())
    tampered = copy.deepcopy(as_server_returns(want))
    tampered.spec.selector = {"app": "other"}
    tampered.spec.ports[0].port = 80
    assert desired.update_service(tampered, want) == ["selector", "port"]
    assert desired.update_service(tampered, want) == []
    assert tampered.spec.clusterIP == "10.0.0.12"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("500m", Decimal("0.5")),
        ("0.5", Decimal("0.5")),
        ("1Gi", Decimal(2**30)),
        ("1024Mi", Decimal(2**30)),
        ("2k", Decimal(2000)),
        ("3", Decimal(3)),
    ],
)
def test_parse_quantity(text: str, value: Decimal) -> None:
    assert desired.parse_quantity(text) == value
