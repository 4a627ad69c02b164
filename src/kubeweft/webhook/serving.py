"""The webhook server as a runnable, and where its certificate comes from.

:class:`WebhookServer` serves :func:`~kubeweft.webhook.server.admission_app` over HTTPS
on its own port (9443, kubebuilder's) with a certificate that follows its files
(``rest.tls.ReloadingCertificate``), so a rotated certificate is used from the next
connection on without a restart. It runs on every replica, leader or not, and starts
before the manager's caches, as controller-runtime starts its webhook server: the API
server may call it (for a conversion, say) before any cache can sync.

The certificate has three sources (``Settings.webhook_certificates``):

* ``local`` — a CA and serving certificate for ``127.0.0.1`` in the state directory
  (made once, replaced when near expiry), and the webhook configurations applied with
  this process's loopback URL and that CA, re-applied every check period so an edit or
  a deletion does not last; the same for the conversion of every CRD with several
  versions (``spec.conversion.webhook.clientConfig``);
* ``files`` — ``tls.crt``/``tls.key`` in ``webhook_cert_dir`` as a Secret volume mounts
  them (cert-manager writes the Secret, cert-manager's CA injector the caBundle);
* ``secret`` — the Secret ``webhook_secret_name`` holds a CA and a serving certificate
  that the leader creates and rotates (:mod:`kubeweft.webhook.secret`); every replica
  copies it into ``webhook_cert_dir`` when it changes.
"""

from __future__ import annotations

import base64
import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import anyio
from anyio.abc import TaskStatus
from lightkube.resources.admissionregistration_v1 import (
    MutatingWebhookConfiguration,
    ValidatingWebhookConfiguration,
)
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition
from lightkube.types import PatchType

from kubeweft import startup
from kubeweft.api.admission import Webhook
from kubeweft.api.conversion import CONVERT_PATH, Conversion
from kubeweft.codegen import webhooks as configurations
from kubeweft.logging import get_logger
from kubeweft.rest.server import HTTPServer, server_limits
from kubeweft.rest.tls import ReloadingCertificate
from kubeweft.runtime.client import Client
from kubeweft.settings import Settings
from kubeweft.webhook import certificates
from kubeweft.webhook.server import admission_app

__all__ = ["CertificateFiles", "LocalRegistration", "WebhookNames", "WebhookServer"]

_log = get_logger("kubeweft.webhook")

CERT_FILE, KEY_FILE, CA_FILE = "tls.crt", "tls.key", "ca.crt"


@dataclass(frozen=True)
class WebhookNames:
    """What the webhook side of an App is called in a cluster (settings, or derived)."""

    service: str
    secret: str
    configuration_prefix: str
    namespace: str

    @classmethod
    def of(cls, app_name: str, settings: Settings) -> WebhookNames:
        return cls(
            service=settings.webhook_service_name or f"{app_name}-webhook-service",
            secret=settings.webhook_secret_name or f"{app_name}-webhook-server-cert",
            configuration_prefix=settings.webhook_configuration_prefix
            if settings.webhook_configuration_prefix is not None
            else f"{app_name}-",
            namespace=settings.webhook_namespace or _pod_namespace(settings) or "default",
        )

    def hosts(self) -> list[str]:
        """The names the API server dials for the Service."""
        base = f"{self.service}.{self.namespace}"
        return [f"{base}.svc", f"{base}.svc.cluster.local", self.service, base]


def _pod_namespace(settings: Settings) -> str | None:
    try:
        return (settings.service_account_dir / "namespace").read_text().strip() or None
    except OSError:
        return None


class CertificateSource(Protocol):
    """Makes the serving pair's files exist, then keeps them (and whatever points at them)
    current while the server runs."""

    directory: Path

    async def prepare(self) -> None: ...

    async def serving(self, url: str) -> None: ...

    async def keep_current(self) -> None: ...


class CertificateFiles:
    """``files``: the pair is mounted (cert-manager's Secret)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def prepare(self) -> None:
        # The kubelet mounts a Secret volume before the container starts: missing files
        # mean nothing was mounted, which waiting would not change.
        missing = [f for f in (CERT_FILE, KEY_FILE) if not (self.directory / f).is_file()]
        if missing:
            raise startup.StartupError(
                f"the webhook server has no certificate: {', '.join(missing)} missing in "
                f"{self.directory}",
                "mount the certificate's Secret there (config/cert-manager), or set "
                "KUBEWEFT_WEBHOOK_CERTIFICATES=secret (the leader makes one) or off",
            )

    async def serving(self, url: str) -> None:
        return None

    async def keep_current(self) -> None:
        await anyio.sleep_forever()


def write_pair(directory: Path, cert: bytes, key: bytes, ca: bytes | None = None) -> None:
    """Replace the files so a handshake never reads a new certificate beside an old key:
    key first, then certificate, each by rename (the TLS loader retries a mismatch)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in ((KEY_FILE, key), (CERT_FILE, cert), (CA_FILE, ca)):
        if data is None:
            continue
        temporary = directory / f".{name}.new"
        temporary.write_bytes(data)
        temporary.chmod(0o600)
        temporary.replace(directory / name)


class LocalRegistration:
    """``local``: a CA and certificate in the state directory, configurations at a URL."""

    def __init__(
        self,
        client: Client,
        webhooks: Sequence[Webhook],
        settings: Settings,
        names: WebhookNames,
        *,
        field_manager: str,
        conversions: Sequence[Conversion] = (),
    ) -> None:
        self.client = client
        self.webhooks = webhooks
        self.conversions = [c for c in conversions if c.spokes]
        self.settings = settings
        self.names = names
        self.field_manager = field_manager
        self.directory = settings.state_dir / "webhook"
        self._url = ""

    def _current(self) -> bytes | None:
        try:
            cert = (self.directory / CERT_FILE).read_bytes()
            (self.directory / KEY_FILE).read_bytes()
            ca = (self.directory / CA_FILE).read_bytes()
        except OSError:
            return None
        margin = datetime.timedelta(seconds=self.settings.webhook_certificate_rotate_before_seconds)
        if certificates.expires_at(cert) - margin <= datetime.datetime.now(datetime.UTC):
            return None
        return ca

    def _ensure(self) -> bytes:
        ca = self._current()
        if ca is None:
            validity = self.settings.webhook_certificate_validity_seconds
            issued = certificates.issue(
                ["127.0.0.1", "localhost"], validity=datetime.timedelta(seconds=validity)
            )
            write_pair(self.directory, issued.cert, issued.key, issued.ca_cert)
            _log.info("webhook certificate issued", directory=str(self.directory))
            ca = issued.ca_cert
        return ca

    async def prepare(self) -> None:
        self._ensure()

    async def serving(self, url: str) -> None:
        self._url = url
        await self._apply(self._ensure())

    async def keep_current(self) -> None:
        while True:
            await anyio.sleep(self.settings.webhook_certificate_check_seconds)
            await self._apply(self._ensure())

    async def _apply(self, ca: bytes) -> None:
        # Locally the process has no namespace of its own unless one is configured.
        excluded = ["kube-system"]
        if self.settings.webhook_namespace:
            excluded.append(self.settings.webhook_namespace)
        documents = configurations.webhook_configurations(
            self.webhooks,
            client_config=configurations.url_client_config(self._url),
            name_prefix=self.names.configuration_prefix,
            excluded_namespaces=excluded,
            ca_bundle=ca,
        )
        for document in documents:
            await apply_configuration(self.client, document, field_manager=self.field_manager)
        if documents:
            _log.info("webhook configurations applied", url=self._url, count=len(documents))
        for conversion in self.conversions:
            await point_conversion(
                self.client,
                conversion.hub.model_info.crd_name,
                {"url": self._url.rstrip("/") + CONVERT_PATH},
                ca,
            )


async def point_conversion(
    client: Client, crd: str, client_config: dict[str, Any], ca_bundle: bytes
) -> None:
    """Point the CRD's conversion webhook at ``client_config`` with ``ca_bundle``.

    A merge patch, not an apply: the CRD itself is applied by whoever installs it
    (``kubectl apply``, ``--install-crds``) with the Service of ``config/webhook``, and
    only a patch can replace that ``service`` by a ``url`` (or back)."""
    config: dict[str, Any] = {"url": None, "service": None, **client_config}
    config["caBundle"] = base64.b64encode(ca_bundle).decode()
    patch = {
        "spec": {
            "conversion": {
                "strategy": "Webhook",
                "webhook": {"clientConfig": config, "conversionReviewVersions": ["v1"]},
            }
        }
    }
    await client.patch(CustomResourceDefinition, crd, patch)
    _log.info("crd conversion pointed at the webhook server", crd=crd)


async def apply_configuration(
    client: Client, document: dict[str, Any], *, field_manager: str
) -> None:
    """Server-side apply one webhook configuration (forcing: this process owns it)."""
    kind: type[Any] = (
        MutatingWebhookConfiguration
        if document["kind"] == configurations.MUTATING
        else ValidatingWebhookConfiguration
    )
    await client.patch(
        kind,
        document["metadata"]["name"],
        document,
        patch_type=PatchType.APPLY,
        field_manager=field_manager,
        force=True,
    )


class WebhookServer:
    """Serve the admission webhooks over HTTPS on ``webhook_host:webhook_port``.

    ``started()`` is signalled once the server accepts connections and whatever points
    the API server at it (the local configurations) is in place.
    """

    need_leader_election = False

    def __init__(
        self,
        webhooks: Sequence[Webhook],
        settings: Settings,
        certificates: CertificateSource,
        conversions: Sequence[Conversion] = (),
    ) -> None:
        self.webhooks = webhooks
        self.conversions = conversions
        self.settings = settings
        self.certificates = certificates
        self.server: HTTPServer | None = None

    @property
    def url(self) -> str | None:
        return self.server.url if self.server is not None and self.server.port else None

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        settings = self.settings
        await self.certificates.prepare()
        directory = self.certificates.directory
        self.server = HTTPServer(
            admission_app(self.webhooks, self.conversions),
            name="webhook",
            host=settings.webhook_host,
            port=settings.webhook_port,
            drain_timeout=settings.drain_timeout_seconds,
            limits=server_limits(settings),
            tls=ReloadingCertificate(directory / CERT_FILE, directory / KEY_FILE),
        )
        async with anyio.create_task_group() as tg:
            with startup.listening(
                "webhook server",
                settings.webhook_host,
                settings.webhook_port,
                "KUBEWEFT_WEBHOOK_PORT",
            ):
                await tg.start(self.server.run)
            await self.certificates.serving(self.server.url)
            task_status.started()
            await self.certificates.keep_current()
