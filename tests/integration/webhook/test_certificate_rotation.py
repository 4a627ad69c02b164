"""Without cert-manager (``secret``): the leader creates the Secret, fills in the
configurations' caBundle, and replaces the serving certificate before it expires; the
server picks the new one up and the API server keeps calling it without an error."""

import base64
import functools
import json
import socket
import ssl
import subprocess
from pathlib import Path
from typing import Any

import anyio
import pytest

from kubeweft.codegen import webhooks as codegen
from kubeweft.examples.webapp import app
from kubeweft.localcluster import ClusterAccess
from tests.integration.rest.stack import running
from tests.support.waiting import wait_until_async

pytestmark = pytest.mark.anyio

SECRET = "kubeweft-webhook-server-cert"


async def kubectl(
    cluster: ClusterAccess, *args: str, input: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    run = functools.partial(cluster.kubectl, *args, input=input, check=check)
    return await anyio.to_thread.run_sync(run)


async def get_json(cluster: ClusterAccess, *args: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((await kubectl(cluster, "get", *args, "-o", "json")).stdout)
    return result


def served_certificate(url: str) -> bytes:
    """The DER certificate a new TLS connection to the webhook server is given."""
    host, port = url.removeprefix("https://").rsplit(":", 1)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection((host, int(port)), timeout=5) as raw,
        context.wrap_socket(raw) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return der


def pem_to_der(pem: bytes) -> bytes:
    return ssl.PEM_cert_to_DER_cert(pem.decode())


async def create_webapp(cluster: ClusterAccess, namespace: str, name: str) -> dict[str, Any]:
    body = {
        "apiVersion": "kubeweft.dev/v1",
        "kind": "WebApp",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"image": "nginx:1.27"},
    }
    await kubectl(cluster, "create", "-f", "-", input=json.dumps(body))
    return await get_json(cluster, "webapp", name, "-n", namespace)


async def test_the_leader_rotates_the_certificate_and_admission_keeps_working(
    local_cluster: ClusterAccess,
    namespace: str,
    tmp_path: Path,
    webhook_configurations: tuple[str, ...],
) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path / 'kubeweft.db'}"
    overrides = {
        "state_dir": tmp_path / "state",
        "webhook_certificates": "secret",
        "webhook_port": 0,
        "webhook_cert_dir": tmp_path / "serving-certs",
        "webhook_namespace": namespace,
        # The API server dials the loopback URL, so the certificate names 127.0.0.1 too.
        "webhook_certificate_hosts": ["127.0.0.1"],
        # Replaced 8 s after it is issued; checked every second.
        "webhook_certificate_validity_seconds": 3600.0,
        "webhook_certificate_rotate_before_seconds": 3592.0,
        "webhook_certificate_check_seconds": 1.0,
    }
    async with running(local_cluster, database, **overrides) as stack:
        url = stack.process.info.webhook_url
        assert url is not None
        secret = await get_json(local_cluster, "secret", SECRET, "-n", namespace)
        first_cert = base64.b64decode(secret["data"]["tls.crt"])
        ca = secret["data"]["ca-bundle.crt"]

        # The configurations as config/webhook has them (no caBundle); the leader fills
        # it in with the Secret's CA.
        documents = codegen.webhook_configurations(
            app.webhooks, client_config=codegen.url_client_config(url), name_prefix="kubeweft-"
        )
        await kubectl(
            local_cluster,
            "apply",
            "-f",
            "-",
            input=json.dumps({"apiVersion": "v1", "kind": "List", "items": documents}),
        )

        async def bundles() -> list[str]:
            found = [await get_json(local_cluster, name) for name in webhook_configurations]
            return [w["clientConfig"].get("caBundle", "") for f in found for w in f["webhooks"]]

        await wait_until_async(
            bundles, what="caBundles patched", accept=lambda b: b == [ca, ca], timeout=30
        )
        before = await create_webapp(local_cluster, namespace, "before")
        assert before["spec"]["resources"]["requests"] == {"cpu": "100m", "memory": "128Mi"}

        async def current_cert() -> bytes:
            data = (await get_json(local_cluster, "secret", SECRET, "-n", namespace))["data"]
            return base64.b64decode(data["tls.crt"])

        # (A later rotation may have come by the time the server is asked: any
        # certificate but the first shows the replacement.)
        rotated = await wait_until_async(
            current_cert,
            what="the serving certificate rotated",
            accept=lambda c: c != first_cert,
            timeout=60,
        )
        await wait_until_async(
            lambda: anyio.to_thread.run_sync(served_certificate, url),
            what="the server to serve the rotated certificate",
            accept=lambda der: der == pem_to_der(rotated) or der != pem_to_der(first_cert),
            timeout=30,
        )
        # Same CA: the caBundle did not have to change, and admission goes on.
        assert await bundles() == [ca, ca]
        after = await create_webapp(local_cluster, namespace, "after")
        assert after["spec"]["resources"]["requests"] == {"cpu": "100m", "memory": "128Mi"}
        denied = await kubectl(
            local_cluster,
            "create",
            "-f",
            "-",
            input=json.dumps(
                {
                    **before,
                    "metadata": {"name": "bare", "namespace": namespace},
                    "spec": {"image": "nginx"},
                }
            ),
            check=False,
        )
        assert "has no tag" in denied.stderr
