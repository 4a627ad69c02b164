"""A CA and the webhook server's certificate it signs, as PEM bytes.

The API server calls a webhook over TLS and trusts only the ``caBundle`` of the webhook
configuration, so whoever serves without cert-manager needs both: a CA (whose
certificate becomes the ``caBundle``) and a serving certificate for the names the API
server dials (``127.0.0.1`` on the local control plane, ``<service>.<namespace>.svc``
in a cluster). Keys are ECDSA P-256, as the local control plane's own.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["ServingCertificate", "expires_at", "hosts_of", "issue", "issue_ca", "issue_serving"]

DEFAULT_VALIDITY = datetime.timedelta(days=90)
# The CA outlives many serving certificates: rotating the serving pair then needs no
# caBundle change, so the API server never holds a bundle that misses the new one.
CA_VALIDITY = datetime.timedelta(days=3650)


@dataclass(frozen=True)
class ServingCertificate:
    """PEM bytes: the CA's pair (its certificate is the ``caBundle``) and the server's."""

    ca_cert: bytes
    ca_key: bytes
    cert: bytes
    key: bytes


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def issue_ca(
    *, validity: datetime.timedelta = CA_VALIDITY, common_name: str = "kubeweft-webhook-ca"
) -> tuple[bytes, bytes]:
    """A new CA: its certificate and key, PEM."""
    now = datetime.datetime.now(datetime.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + validity)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)


def issue_serving(
    hosts: Sequence[str],
    ca_cert: bytes,
    ca_key: bytes,
    *,
    validity: datetime.timedelta = DEFAULT_VALIDITY,
) -> tuple[bytes, bytes]:
    """A serving certificate for ``hosts`` (DNS names or IP addresses) signed by the CA:
    certificate and key, PEM."""
    if not hosts:
        raise ValueError("a serving certificate needs at least one host")
    issuer = x509.load_pem_x509_certificate(ca_cert)
    signer = serialization.load_pem_private_key(ca_key, password=None)
    if not isinstance(signer, ec.EllipticCurvePrivateKey):
        raise ValueError("the CA key is not an ECDSA key")
    now = datetime.datetime.now(datetime.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    cert = (
        x509.CertificateBuilder()
        # The names are in the SAN (what clients check); a CN is at most 64 characters.
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubeweft-webhook")]))
        .issuer_name(issuer.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(min(now + validity, issuer.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(ca=False), critical=True)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), False
        )
        .sign(signer, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)


def issue(
    hosts: Sequence[str], *, validity: datetime.timedelta = DEFAULT_VALIDITY
) -> ServingCertificate:
    """A new CA and a serving certificate for ``hosts`` it signs."""
    ca_cert, ca_key = issue_ca()
    cert, key = issue_serving(hosts, ca_cert, ca_key, validity=validity)
    return ServingCertificate(ca_cert=ca_cert, ca_key=ca_key, cert=cert, key=key)


def expires_at(cert_pem: bytes) -> datetime.datetime:
    """When the (first) certificate in ``cert_pem`` stops being valid."""
    return x509.load_pem_x509_certificate(cert_pem).not_valid_after_utc


def hosts_of(cert_pem: bytes) -> set[str]:
    """The DNS names and IP addresses a certificate is valid for."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    found = {str(name) for name in names.get_values_for_type(x509.DNSName)}
    found |= {str(address) for address in names.get_values_for_type(x509.IPAddress)}
    return found
