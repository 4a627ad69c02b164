"""Run an app on a real uvicorn server (``HTTPServer``, as the process serves) in a test;
a self-signed certificate to serve HTTPS with."""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from starlette.types import ASGIApp

from kubeweft.rest.connections import ServerLimits
from kubeweft.rest.server import HTTPServer
from kubeweft.rest.tls import ReloadingCertificate


@asynccontextmanager
async def serving(
    app: ASGIApp,
    *,
    limits: ServerLimits | None = None,
    tls: ReloadingCertificate | None = None,
) -> AsyncIterator[HTTPServer]:
    """``app`` served on 127.0.0.1 (a free port) until the block ends."""
    server = HTTPServer(
        app, name="test", host="127.0.0.1", port=0, drain_timeout=1, limits=limits, tls=tls
    )
    async with anyio.create_task_group() as group:
        await group.start(server.run)
        try:
            yield server
        finally:
            group.cancel_scope.cancel()


def self_signed_certificate(common_name: str) -> tuple[bytes, bytes]:
    """(certificate PEM, key PEM) for 127.0.0.1, valid for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return certificate.public_bytes(serialization.Encoding.PEM), key_pem
