"""The webhook server's start-up: a port in use is a one-line start-up error naming the
setting; a served certificate follows its files."""

import socket
import ssl
from pathlib import Path

import anyio
import pytest

from kubeweft.examples.webapp import app
from kubeweft.settings import Settings
from kubeweft.startup import StartupError
from kubeweft.webhook import certificates
from kubeweft.webhook.serving import CertificateFiles, WebhookServer, write_pair


def pair(directory: Path) -> bytes:
    issued = certificates.issue(["127.0.0.1"])
    write_pair(directory, issued.cert, issued.key, issued.ca_cert)
    return issued.cert


def served(port: int) -> bytes:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return der


@pytest.mark.anyio
async def test_a_port_in_use_names_the_setting(tmp_path: Path) -> None:
    pair(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = Settings(webhook_port=port, webhook_cert_dir=tmp_path)
        server = WebhookServer(app.webhooks, settings, CertificateFiles(tmp_path))
        refused: list[StartupError] = []
        try:
            await server.run()
        except* StartupError as group:  # raised inside the server's task group
            refused = [e for e in group.exceptions if isinstance(e, StartupError)]
        assert len(refused) == 1
        assert "KUBEWEFT_WEBHOOK_PORT" in refused[0].line()


@pytest.mark.anyio
async def test_a_replaced_certificate_is_served_on_the_next_connection(tmp_path: Path) -> None:
    first = pair(tmp_path)
    settings = Settings(webhook_port=0, webhook_cert_dir=tmp_path, drain_timeout_seconds=1)
    server = WebhookServer(app.webhooks, settings, CertificateFiles(tmp_path))
    async with anyio.create_task_group() as tg:
        await tg.start(server.run)
        assert server.server is not None
        assert server.server.port is not None
        port = server.server.port
        assert await anyio.to_thread.run_sync(served, port) == ssl.PEM_cert_to_DER_cert(
            first.decode()
        )
        second = pair(tmp_path)
        assert await anyio.to_thread.run_sync(served, port) == ssl.PEM_cert_to_DER_cert(
            second.decode()
        )
        tg.cancel_scope.cancel()


@pytest.mark.anyio
async def test_files_mode_without_a_mounted_certificate_is_a_start_up_error(
    tmp_path: Path,
) -> None:
    with pytest.raises(StartupError) as refused:
        await CertificateFiles(tmp_path / "serving-certs").prepare()
    assert "tls.crt, tls.key missing" in refused.value.line()
    assert "KUBEWEFT_WEBHOOK_CERTIFICATES" in refused.value.line()
