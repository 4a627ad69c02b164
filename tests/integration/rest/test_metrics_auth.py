"""``/metrics`` guarded by TokenReview + SubjectAccessReview, and HTTPS on the API port,
through a real kubeweft process on the real local control plane.

The scraper's account is granted ``get /metrics`` by the generated ``metrics-reader``
ClusterRole (renamed per test: ClusterRoles are cluster-wide), as an operator would bind
it to Prometheus.
"""

from __future__ import annotations

import secrets
import ssl
from pathlib import Path

import httpx
import pytest

from kubeweft.codegen.rbac import metrics_reader_role
from kubeweft.localcluster.access import ClusterAccess
from tests.integration.rest.stack import running
from tests.support import accounts
from tests.unit.rest.servers import self_signed_certificate

pytestmark = [pytest.mark.anyio, pytest.mark.localcluster]


async def test_metrics_need_a_reviewed_token_allowed_get_metrics(
    local_cluster: ClusterAccess, namespace: str, tmp_path: Path
) -> None:
    suffix = secrets.token_hex(3)
    role = metrics_reader_role()
    role["metadata"]["name"] = f"metrics-reader-{suffix}"
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": f"metrics-reader-{suffix}"},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": role["metadata"]["name"],
        },
        "subjects": [{"kind": "ServiceAccount", "name": "scraper", "namespace": namespace}],
    }
    scraper_account = accounts.service_account(namespace, "scraper")
    nobody_account = accounts.service_account(namespace, "nobody")
    local_cluster.apply([scraper_account, nobody_account, role, binding])
    try:
        scraper = accounts.token(local_cluster, namespace, "scraper")
        nobody = accounts.token(local_cluster, namespace, "nobody")
        async with running(
            local_cluster,
            f"sqlite+aiosqlite:///{tmp_path / 'kubeweft.db'}",
            metrics_auth=True,
            enable_controller=False,
        ) as stack:
            anonymous = await stack.probes.get("/metrics")
            assert anonymous.status_code == 401
            assert anonymous.headers["content-type"].startswith("application/problem+json")
            assert anonymous.headers["www-authenticate"].startswith("Bearer")

            bogus = await stack.probes.get("/metrics", headers={"Authorization": "Bearer nope"})
            assert bogus.status_code == 401

            denied = await stack.probes.get(
                "/metrics", headers={"Authorization": f"Bearer {nobody}"}
            )
            assert denied.status_code == 403
            assert f"system:serviceaccount:{namespace}:nobody" in denied.json()["detail"]

            allowed = await stack.probes.get(
                "/metrics", headers={"Authorization": f"Bearer {scraper}"}
            )
            assert allowed.status_code == 200
            assert "kubeweft_http_requests_total" in allowed.text

            # The kubelet's probes carry no token: they stay open.
            assert (await stack.probes.get("/healthz")).status_code == 200
    finally:
        local_cluster.kubectl(
            "delete", "clusterrolebinding,clusterrole", f"metrics-reader-{suffix}", check=False
        )


async def test_the_api_port_serves_https_when_given_a_certificate(
    local_cluster: ClusterAccess, tmp_path: Path
) -> None:
    cert_pem, key_pem = self_signed_certificate("kubeweft-api")
    (tmp_path / "tls.crt").write_bytes(cert_pem)
    (tmp_path / "tls.key").write_bytes(key_pem)
    async with running(
        local_cluster,
        f"sqlite+aiosqlite:///{tmp_path / 'kubeweft.db'}",
        tls_cert_file=tmp_path / "tls.crt",
        tls_key_file=tmp_path / "tls.key",
        enable_controller=False,
    ) as stack:
        url = stack.process.info.api_url or ""
        assert url.startswith("https://127.0.0.1:")
        trust = ssl.create_default_context(cadata=cert_pem.decode())
        async with httpx.AsyncClient(base_url=url, verify=trust) as https:
            assert (await https.get("/api/webapps")).status_code == 200
        # The probe port stays plain HTTP: the kubelet's httpGet probes use it.
        assert (await stack.probes.get("/healthz")).status_code == 200
