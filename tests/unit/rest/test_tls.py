"""HTTPS on the real server, with the certificate reloaded when its files are replaced."""

from __future__ import annotations

import os
import ssl
from pathlib import Path

import anyio
import httpx
import pytest
from anyio.streams.tls import TLSAttribute
from cryptography import x509
from cryptography.x509.oid import NameOID

from kubeweft.rest.tls import ReloadingCertificate, api_certificate
from kubeweft.settings import Settings
from tests.unit.rest.conftest import build
from tests.unit.rest.servers import self_signed_certificate, serving

pytestmark = pytest.mark.anyio


def _replace(path: Path, data: bytes) -> None:
    """Swap the file in one step, as the kubelet swaps a mounted Secret."""
    staging = path.with_suffix(".new")
    staging.write_bytes(data)
    os.replace(staging, path)


def _common_name(der: bytes) -> str:
    certificate = x509.load_der_x509_certificate(der)
    return str(certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


async def _served_name(port: int | None, *, server_name: str | None) -> str:
    """The common name of the certificate a new TLS connection is shown."""
    assert port is not None
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    stream = await anyio.connect_tcp(
        "127.0.0.1", port, tls=True, ssl_context=context, tls_hostname=server_name
    )
    async with stream:
        der = stream.extra(TLSAttribute.peer_certificate_binary)
    assert der is not None
    return _common_name(der)


async def test_https_is_served_with_the_configured_certificate(tmp_path: Path) -> None:
    cert_pem, key_pem = self_signed_certificate("first")
    (tmp_path / "tls.crt").write_bytes(cert_pem)
    (tmp_path / "tls.key").write_bytes(key_pem)
    settings = Settings(tls_cert_file=tmp_path / "tls.crt", tls_key_file=tmp_path / "tls.key")
    certificate = api_certificate(settings)
    assert certificate is not None
    async with serving(build()[0], tls=certificate) as server:
        assert server.url.startswith("https://")
        trust = ssl.create_default_context(cadata=cert_pem.decode())
        async with httpx.AsyncClient(base_url=server.url, verify=trust) as https:
            response = await https.get("/api/webapps")
        assert response.status_code == 200
        async with httpx.AsyncClient(base_url=server.url.replace("https", "http")) as plain:
            with pytest.raises(httpx.HTTPError):
                await plain.get("/api/webapps")


async def test_a_new_connection_sees_the_rotated_certificate(tmp_path: Path) -> None:
    cert_file, key_file = tmp_path / "tls.crt", tmp_path / "tls.key"
    first_cert, first_key = self_signed_certificate("first")
    cert_file.write_bytes(first_cert)
    key_file.write_bytes(first_key)
    async with serving(build()[0], tls=ReloadingCertificate(cert_file, key_file)) as server:
        assert await _served_name(server.port, server_name=None) == "first"

        second_cert, second_key = self_signed_certificate("second")
        # Half-way through a rotation the pair does not match: keep serving the old one.
        _replace(cert_file, second_cert)
        assert await _served_name(server.port, server_name=None) == "first"
        _replace(key_file, second_key)
        # With and without SNI: both reach the reload.
        assert await _served_name(server.port, server_name=None) == "second"
        assert await _served_name(server.port, server_name="localhost") == "second"

        trust = ssl.create_default_context(cadata=second_cert.decode())
        async with httpx.AsyncClient(base_url=server.url, verify=trust) as https:
            assert (await https.get("/api/webapps")).status_code == 200


def test_a_missing_pair_fails_at_start_up(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        ReloadingCertificate(tmp_path / "absent.crt", tmp_path / "absent.key")


def test_cert_and_key_are_set_together(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="tls_cert_file and tls_key_file"):
        Settings(tls_cert_file=tmp_path / "tls.crt")
