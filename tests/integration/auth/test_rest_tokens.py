"""Kubernetes tokens and RBAC through a real kubeweft process on the real API server.

* **Audiences.** With ``token_audiences=["kubeweft"]`` a service-account token made
  with ``kubectl create token SA --audience kubeweft`` is accepted; the same account's
  token for the API server's default audience — the kind every pod holds — is 401.
* **Record routes.** The read-only views (history, metrics, events, annotation list)
  are authorized as ``get webapps``, which is what the generated roles grant: an account
  granted only ``get webapps`` reads them all; one granted only ``get webapps/history``
  (a subresource kubeweft does not check) reads none.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest

from kubeweft.localcluster.access import ClusterAccess
from tests.integration.rest.stack import running
from tests.support import accounts
from tests.support.waiting import wait_until_async

from .conftest import GROUP, binding

pytestmark = [pytest.mark.anyio, pytest.mark.localcluster]

AUDIENCE = "kubeweft"
VIEWS = ("history", "metrics", "events", "annotations")


def role(namespace: str, name: str, resources: list[str]) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": name, "namespace": namespace},
        "rules": [{"apiGroups": [GROUP], "resources": resources, "verbs": ["get"]}],
    }


def bind_account(namespace: str, account: str, role_name: str) -> list[dict[str, Any]]:
    subject = {"kind": "ServiceAccount", "name": account, "namespace": namespace}
    return [
        accounts.service_account(namespace, account),
        binding(namespace, f"{account}-{role_name}", role_name, subject),
    ]


async def test_audiences_and_record_routes(
    local_cluster: ClusterAccess, namespace: str, webapp_crd: str, tmp_path: Path
) -> None:
    name = f"web-{secrets.token_hex(3)}"
    local_cluster.apply(
        [
            role(namespace, "webapp-get", ["webapps"]),
            role(namespace, "webapp-history", ["webapps/history"]),
            *bind_account(namespace, "plain", "webapp-get"),
            *bind_account(namespace, "history-only", "webapp-history"),
            {
                "apiVersion": "kubeweft.dev/v1",
                "kind": "WebApp",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {"image": "nginx:1.27", "replicas": 1},
            },
        ]
    )
    plain = accounts.token(local_cluster, namespace, "plain", AUDIENCE)
    history_only = accounts.token(local_cluster, namespace, "history-only", AUDIENCE)
    plain_default_audience = accounts.token(local_cluster, namespace, "plain")
    detail = f"/api/webapps/{namespace}/{name}"

    async with running(
        local_cluster,
        f"sqlite+aiosqlite:///{tmp_path / 'kubeweft.db'}",
        dev_user=None,
        kubernetes_token_auth=True,
        token_audiences=[AUDIENCE],
        enable_controller=False,
    ) as stack:

        def bearer(value: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {value}"}

        async def get_detail() -> int:
            return (await stack.http.get(detail, headers=bearer(plain))).status_code

        # The informer may not have seen the WebApp yet: 404 until it has.
        await wait_until_async(get_detail, accept=lambda s: s == 200, what="the WebApp")

        # Audiences: the default-audience token of the same account is refused.
        refused = await stack.http.get(detail, headers=bearer(plain_default_audience))
        assert refused.status_code == 401
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert "invalid_token" in refused.headers["www-authenticate"]

        # Record routes: `get webapps` opens every view, `get webapps/history` none.
        for view in VIEWS:
            url = f"{detail}/{view}"
            assert (await stack.http.get(url, headers=bearer(plain))).status_code == 200, view
            denied = await stack.http.get(url, headers=bearer(history_only))
            assert denied.status_code == 403, view
            assert "may not get webapps.kubeweft.dev" in denied.json()["detail"]
