"""What the OpenAPI document promises, against a real process, API server and database:
label keys it admits are kept by the API server, names it refuses never reach it, and a
metrics ``since`` with no UTC value is a 422 from the real SQL layer, not a 500."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubeweft.examples.webapp.api.v1 import WebApp
from kubeweft.localcluster import ClusterAccess
from kubeweft.runtime import errors as kube_errors
from tests.integration.rest.stack import running

pytestmark = [pytest.mark.anyio, pytest.mark.localcluster]

PROBLEM = "application/problem+json"


async def test_the_document_and_the_api_server_agree(
    local_cluster: ClusterAccess, namespace: str, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'kubeweft.db'}"
    async with running(local_cluster, url, enable_controller=False) as app:
        labels = {"app.kubernetes.io/name": "shop", "xn--b-kva.example/x_y.z": "", "t": "a.b"}
        body = {"name": "shop", "namespace": namespace, "labels": labels, "spec": {"image": "x:1"}}
        created = await app.http.post("/api/webapps", json=body)
        assert created.status_code == 201, created.text
        stored = await app.client.get(WebApp, "shop", namespace)
        assert stored.metadata.labels == labels

        # A dotted name is a valid object name but not a Service name: refused before
        # anything is written.
        dotted = await app.http.post("/api/webapps", json={**body, "name": "web.shop"})
        assert dotted.status_code == 422, dotted.text
        assert [e["field"] for e in dotted.json()["errors"]] == ["name"]
        with pytest.raises(kube_errors.NotFound):
            await app.client.get(WebApp, "web.shop", namespace)

        for since in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"):
            response = await app.http.get(
                f"/api/webapps/{namespace}/shop/metrics", params={"since": since}
            )
            assert response.status_code == 422, response.text
            assert response.headers["content-type"] == PROBLEM
            assert [e["field"] for e in response.json()["errors"]] == ["query.since"]
        # The far ends themselves, in UTC, are fine.
        earliest = await app.http.get(
            f"/api/webapps/{namespace}/shop/metrics", params={"since": "0001-01-01T00:00:00Z"}
        )
        assert earliest.status_code == 200, earliest.text
        assert earliest.json() == []
