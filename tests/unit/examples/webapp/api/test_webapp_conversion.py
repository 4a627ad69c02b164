"""WebApp v1alpha1 <-> v1: one port is the http port of ``ports``; the other ports, and
the first port's own name and protocol, survive a round trip through v1alpha1."""

from typing import Any

from kubeweft.api.conversion import CONVERSION_DATA
from kubeweft.examples.webapp import app

(CONVERSION,) = app.conversions
V1, V1ALPHA1 = "kubeweft.dev/v1", "kubeweft.dev/v1alpha1"


def webapp(api_version: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": api_version,
        "kind": "WebApp",
        "metadata": {"name": "shop", "namespace": "team-a"},
        "spec": {"image": "nginx:1.27", **spec},
    }


def test_port_is_the_http_port_of_v1_and_back() -> None:
    hub = CONVERSION.convert(webapp(V1ALPHA1, port=9000, replicas=2), V1)
    assert hub["spec"]["ports"] == [{"name": "http", "port": 9000, "protocol": "TCP"}]
    assert hub["spec"]["replicas"] == 2
    spoke = CONVERSION.convert(hub, V1ALPHA1)
    assert spoke["spec"]["port"] == 9000
    assert "annotations" not in spoke["metadata"]  # nothing to keep


def test_extra_ports_and_the_first_port_s_name_survive_v1alpha1() -> None:
    ports = [
        {"name": "web", "port": 8080, "protocol": "TCP"},
        {"name": "dns", "port": 53, "protocol": "UDP"},
    ]
    spoke = CONVERSION.convert(webapp(V1, ports=ports), V1ALPHA1)
    assert spoke["spec"]["port"] == 8080
    assert CONVERSION_DATA in spoke["metadata"]["annotations"]
    assert CONVERSION.convert(spoke, V1)["spec"]["ports"] == ports
    # The port changed through v1alpha1: the first port moves, keeping its name.
    spoke["spec"]["port"] = 8081
    moved = CONVERSION.convert(spoke, V1)["spec"]["ports"]
    assert moved == [{"name": "web", "port": 8081, "protocol": "TCP"}, ports[1]]


def test_a_v1alpha1_port_that_lands_on_another_port_replaces_it() -> None:
    ports = [
        {"name": "http", "port": 8080, "protocol": "TCP"},
        {"name": "metrics", "port": 9100, "protocol": "TCP"},
    ]
    spoke = CONVERSION.convert(webapp(V1, ports=ports), V1ALPHA1)
    spoke["spec"]["port"] = 9100
    # No two ports with one number: the metrics port gives way to the edited one.
    assert CONVERSION.convert(spoke, V1)["spec"]["ports"] == [
        {"name": "http", "port": 9100, "protocol": "TCP"}
    ]
