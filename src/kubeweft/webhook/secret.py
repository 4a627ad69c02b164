"""Certificates without cert-manager: a Secret the leader keeps, every replica serves.

The leader (:class:`CertificateRotator`) makes sure the Secret ``webhook_secret_name``
holds a CA and a serving certificate for the webhook Service that is valid for longer
than ``webhook_certificate_rotate_before_seconds``, replaces the serving pair when it is
not (signed by the same CA, so the ``caBundle`` does not change), and keeps the
``caBundle`` of this App's webhook configurations (and the conversion of its CRDs with
several versions) equal to the CAs in the Secret. Every
replica (:class:`SecretCertificates`) copies the pair into ``webhook_cert_dir`` when
the Secret changes; the server picks the new files up on the next handshake.

The CA is long-lived (ten years). When it is replaced, the old CA stays in the bundle
(``ca-bundle.crt``) until it expires, so a replica still serving the old pair is
trusted while it catches up.
"""

from __future__ import annotations

import base64
import datetime
from typing import Any

import anyio
from anyio.abc import TaskStatus
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.admissionregistration_v1 import (
    MutatingWebhookConfiguration,
    ValidatingWebhookConfiguration,
)
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition
from lightkube.resources.core_v1 import Secret

from kubeweft.codegen import webhooks as configurations
from kubeweft.logging import get_logger
from kubeweft.runtime import errors as kube_errors
from kubeweft.runtime.client import Client
from kubeweft.settings import Settings
from kubeweft.webhook import certificates
from kubeweft.webhook.serving import WebhookNames, write_pair

__all__ = ["CertificateRotator", "SecretCertificates"]

_log = get_logger("kubeweft.webhook.secret")

CA_CERT, CA_KEY, CA_BUNDLE, TLS_CERT, TLS_KEY = (
    "ca.crt",
    "ca.key",
    "ca-bundle.crt",
    "tls.crt",
    "tls.key",
)


def _decoded(secret: Secret | None) -> dict[str, bytes]:
    if secret is None or not secret.data:
        return {}
    return {key: base64.b64decode(value) for key, value in secret.data.items()}


def _expiring(cert: bytes | None, margin: datetime.timedelta) -> bool:
    if not cert:
        return True
    return certificates.expires_at(cert) - margin <= datetime.datetime.now(datetime.UTC)


def _split_pem(bundle: bytes) -> list[bytes]:
    marker = b"-----END CERTIFICATE-----"
    return [part.strip() + b"\n" + marker + b"\n" for part in bundle.split(marker) if part.strip()]


class SecretCertificates:
    """Every replica: the serving pair comes from the Secret, copied into the cert dir."""

    def __init__(self, client: Client, names: WebhookNames, settings: Settings) -> None:
        self.client = client
        self.names = names
        self.settings = settings
        self.directory = settings.webhook_cert_dir
        self._version: str | None = None

    async def _sync(self) -> bool:
        try:
            secret = await self.client.get(Secret, self.names.secret, self.names.namespace)
        except kube_errors.NotFound:
            return False
        version = secret.metadata.resourceVersion if secret.metadata else None
        if version == self._version:
            return True
        data = _decoded(secret)
        if TLS_CERT not in data or TLS_KEY not in data:
            return False
        write_pair(self.directory, data[TLS_CERT], data[TLS_KEY])
        _log.info("webhook certificate loaded from secret", secret=self.names.secret)
        self._version = version
        return True

    async def prepare(self) -> None:
        while True:  # the leader creates it; poll the API server until it has
            if await self._sync():
                return
            await anyio.sleep(1.0)

    async def serving(self, url: str) -> None:
        return None

    async def keep_current(self) -> None:
        while True:
            await anyio.sleep(self.settings.webhook_certificate_check_seconds)
            try:
                await self._sync()
            except kube_errors.ApiError as error:
                _log.warning("webhook certificate secret unreadable", error=str(error))


class CertificateRotator:
    """The leader: create and rotate the Secret's certificates, patch the caBundles."""

    need_leader_election = True

    def __init__(
        self,
        client: Client,
        names: WebhookNames,
        settings: Settings,
        *,
        crds: tuple[str, ...] = (),
    ) -> None:
        self.client = client
        self.names = names
        self.settings = settings
        self.crds = crds

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        while True:
            try:
                await self.reconcile()
            except kube_errors.ApiError as error:
                _log.warning("webhook certificate not reconciled; retrying", error=str(error))
            await anyio.sleep(self.settings.webhook_certificate_check_seconds)

    def _hosts(self) -> list[str]:
        return [*self.names.hosts(), *self.settings.webhook_certificate_hosts]

    async def reconcile(self) -> None:
        """One pass: the Secret valid for long enough, the caBundles equal to its CAs."""
        settings = self.settings
        margin = datetime.timedelta(seconds=settings.webhook_certificate_rotate_before_seconds)
        validity = datetime.timedelta(seconds=settings.webhook_certificate_validity_seconds)
        try:
            secret: Secret | None = await self.client.get(
                Secret, self.names.secret, self.names.namespace
            )
        except kube_errors.NotFound:
            secret = None
        data = _decoded(secret)
        wanted = dict(data)
        if _expiring(data.get(CA_CERT), margin) or CA_KEY not in data:
            ca_cert, ca_key = certificates.issue_ca()
            still_valid = [
                pem
                for pem in _split_pem(data.get(CA_BUNDLE, b""))
                if not _expiring(pem, datetime.timedelta())
            ]
            wanted.update({CA_CERT: ca_cert, CA_KEY: ca_key})
            wanted[CA_BUNDLE] = ca_cert + b"".join(still_valid)
            wanted.pop(TLS_CERT, None)
        hosts = self._hosts()
        current = wanted.get(TLS_CERT)
        if (
            current is None
            or _expiring(current, margin)
            or not set(hosts) <= certificates.hosts_of(current)
        ):
            cert, key = certificates.issue_serving(
                hosts, wanted[CA_CERT], wanted[CA_KEY], validity=validity
            )
            wanted.update({TLS_CERT: cert, TLS_KEY: key})
        wanted.setdefault(CA_BUNDLE, wanted[CA_CERT])
        # The bundle first: a new CA is trusted before any replica serves what it signed.
        await self._patch_ca_bundles(wanted[CA_BUNDLE])
        if wanted != data:
            await self._write(secret, wanted)

    async def _write(self, secret: Secret | None, data: dict[str, bytes]) -> None:
        encoded = {key: base64.b64encode(value).decode() for key, value in data.items()}
        if secret is None:
            await self.client.create(
                Secret(
                    metadata=ObjectMeta(name=self.names.secret, namespace=self.names.namespace),
                    type="kubernetes.io/tls",
                    data=encoded,
                )
            )
            _log.info("webhook certificate secret created", secret=self.names.secret)
            return
        secret.data = encoded
        await self.client.update(secret)  # conditional on resourceVersion
        _log.info("webhook certificate rotated", secret=self.names.secret)

    async def _patch_ca_bundles(self, bundle: bytes) -> None:
        encoded = base64.b64encode(bundle).decode()
        for kind, resource in (
            (configurations.MUTATING, MutatingWebhookConfiguration),
            (configurations.VALIDATING, ValidatingWebhookConfiguration),
        ):
            name = configurations.configuration_name(self.names.configuration_prefix, kind)
            try:
                found: Any = await self.client.get(resource, name)
            except kube_errors.NotFound:
                continue  # this App declares no webhook of that kind, or it is not installed
            stale = [w for w in found.webhooks or () if w.clientConfig.caBundle != encoded]
            if not stale:
                continue
            for webhook in stale:
                webhook.clientConfig.caBundle = encoded
            await self.client.update(found)
            _log.info("webhook caBundle updated", configuration=name)
        for crd in self.crds:
            await self._patch_conversion_bundle(crd, encoded)

    async def _patch_conversion_bundle(self, name: str, encoded: str) -> None:
        try:
            found = await self.client.get(CustomResourceDefinition, name)
        except kube_errors.NotFound:
            return
        conversion = found.spec.conversion
        webhook = conversion.webhook if conversion is not None else None
        if webhook is None or webhook.clientConfig is None:
            return  # not converted by a webhook (yet): nothing to trust
        if webhook.clientConfig.caBundle == encoded:
            return
        patch = {"spec": {"conversion": {"webhook": {"clientConfig": {"caBundle": encoded}}}}}
        await self.client.patch(CustomResourceDefinition, name, patch)
        _log.info("crd conversion caBundle updated", crd=name)
