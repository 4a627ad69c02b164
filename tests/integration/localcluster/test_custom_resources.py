"""CustomResourceDefinitions on the local API server: served once Established, validated
by their schema, with a status subresource and watchable from a resourceVersion (the
things a controller runtime relies on)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kubeweft.localcluster import ClusterAccess
from tests.support.waiting import wait_until

pytestmark = pytest.mark.localcluster

CRD_FILE = Path(__file__).parent / "manifests" / "widgets-crd.yaml"
GROUP = "localcluster.test.kubeweft.dev"


@pytest.fixture
def widget_crd(local_cluster: ClusterAccess) -> Iterator[str]:
    local_cluster.kubectl("apply", "-f", str(CRD_FILE))
    try:
        yield f"widgets.{GROUP}"
    finally:
        local_cluster.kubectl("delete", "-f", str(CRD_FILE), "--wait=false", check=False)


def established(cluster: ClusterAccess, crd: str) -> bool:
    body = json.loads(cluster.kubectl("get", "crd", crd, "-o", "json").stdout)
    conditions = body.get("status", {}).get("conditions", [])
    return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)


def test_custom_resource_with_status_subresource_and_watch(
    local_cluster: ClusterAccess, namespace: str, widget_crd: str
) -> None:
    wait_until(
        lambda: established(local_cluster, widget_crd),
        accept=bool,
        what=f"{widget_crd} Established",
    )
    base = f"/apis/{GROUP}/v1/namespaces/{namespace}/widgets"
    widget: dict[str, Any] = {
        "apiVersion": f"{GROUP}/v1",
        "kind": "Widget",
        "metadata": {"name": "w1"},
        "spec": {"size": 2},
    }
    with local_cluster.http() as client:
        invalid = client.post(base, json={**widget, "spec": {"size": 0}})
        assert invalid.status_code == 422, invalid.text

        created = client.post(base, json=widget)
        assert created.status_code == 201, created.text
        start_version = created.json()["metadata"]["resourceVersion"]

        # Through the status subresource, status changes and spec changes are ignored.
        status_body = {**created.json(), "status": {"phase": "Ready"}, "spec": {"size": 99}}
        updated = client.put(f"{base}/w1/status", json=status_body)
        assert updated.status_code == 200, updated.text
        assert updated.json()["status"] == {"phase": "Ready"}
        assert updated.json()["spec"] == {"size": 2}

        patched = client.patch(
            f"{base}/w1",
            content=json.dumps({"spec": {"size": 3}}),
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert patched.status_code == 200, patched.text

        events: list[dict[str, Any]] = []
        params = {"watch": "1", "resourceVersion": start_version, "timeoutSeconds": "20"}
        with client.stream("GET", base, params=params, timeout=30.0) as stream:
            assert stream.status_code == 200
            for line in stream.iter_lines():
                if line:
                    events.append(json.loads(line))
                if len(events) == 2:
                    break

    # Only what happened after `start_version`: no ADDED, the two changes in order.
    assert [event["type"] for event in events] == ["MODIFIED", "MODIFIED"]
    assert events[0]["object"]["status"] == {"phase": "Ready"}
    assert events[1]["object"]["spec"] == {"size": 3}
    assert int(events[1]["object"]["metadata"]["resourceVersion"]) > int(start_version)
