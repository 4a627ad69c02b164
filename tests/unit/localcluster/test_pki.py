"""The generated PKI is what the components need: a CA that verifies the serving
certificate for the addresses clients use, and a matching service-account key pair."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from kubeweft.localcluster import pki


def test_ca_signs_a_serving_certificate_for_loopback_and_service_names(tmp_path: Path) -> None:
    paths = pki.generate(tmp_path)
    assert paths.exist()
    ca = x509.load_pem_x509_certificate(paths.ca_cert.read_bytes())
    serving = x509.load_pem_x509_certificate(paths.serving_cert.read_bytes())

    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    serving.verify_directly_issued_by(ca)
    names = serving.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("127.0.0.1") in names.get_values_for_type(x509.IPAddress)
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    assert "kubernetes.default.svc" in names.get_values_for_type(x509.DNSName)

    key = serialization.load_pem_private_key(paths.serving_key.read_bytes(), password=None)
    assert key.public_key().public_numbers() == serving.public_key().public_numbers()  # type: ignore[union-attr]


def test_private_keys_are_owner_only(tmp_path: Path) -> None:
    paths = pki.generate(tmp_path)
    for key in (paths.ca_key, paths.serving_key, paths.service_account_key):
        assert key.stat().st_mode & 0o077 == 0


def test_service_account_keys_form_a_signing_pair(tmp_path: Path) -> None:
    paths = pki.generate(tmp_path)
    private = serialization.load_pem_private_key(
        paths.service_account_key.read_bytes(), password=None
    )
    public = serialization.load_pem_public_key(paths.service_account_public_key.read_bytes())
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    assert isinstance(public, ec.EllipticCurvePublicKey)
    signature = private.sign(b"token", ec.ECDSA(hashes.SHA256()))
    public.verify(signature, b"token", ec.ECDSA(hashes.SHA256()))


def test_each_generation_is_a_new_ca(tmp_path: Path) -> None:
    first = pki.generate(tmp_path / "a").ca_cert.read_bytes()
    second = pki.generate(tmp_path / "b").ca_cert.read_bytes()
    assert first != second
