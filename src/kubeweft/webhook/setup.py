"""Which webhook runnables a process needs, from its settings and where it runs.

The serving and certificate modules (cryptography: ≈ 8 MiB of a process's memory) are
imported only when a webhook is served."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from kubeweft.api.admission import Webhook
from kubeweft.api.conversion import Conversion
from kubeweft.runtime.client import Client
from kubeweft.settings import Settings

if TYPE_CHECKING:
    from kubeweft.webhook.secret import CertificateRotator
    from kubeweft.webhook.serving import CertificateSource, WebhookServer

__all__ = ["CertificateMode", "certificate_mode", "webhook_runnables"]

CertificateMode = Literal["local", "files", "secret", "off"]


def certificate_mode(settings: Settings) -> CertificateMode:
    """``webhook_certificates`` as set, or: ``files`` in a pod, ``local`` against the
    local control plane under the state directory, otherwise ``off`` (an API server
    elsewhere cannot call this machine's loopback address)."""
    if settings.webhook_certificates is not None:
        return settings.webhook_certificates
    if (settings.service_account_dir / "token").exists() and os.environ.get(
        "KUBERNETES_SERVICE_HOST"
    ):
        return "files"
    kubeconfig = settings.kubeconfig
    local = (settings.state_dir / "cluster").resolve()
    if kubeconfig is not None and kubeconfig.resolve().is_relative_to(local):
        return "local"
    return "off"


def webhook_runnables(
    app_name: str,
    webhooks: Sequence[Webhook],
    settings: Settings,
    client: Client,
    conversions: Sequence[Conversion] = (),
) -> tuple[WebhookServer | None, CertificateRotator | None]:
    """The server (every replica) and, without cert-manager, the leader's rotator.
    Needed when the App declares admission webhooks or a model with several versions
    (``conversions``: the API server calls ``/convert``)."""
    mode = certificate_mode(settings)
    converted = [c for c in conversions if c.spokes]
    if not (webhooks or converted) or mode == "off":
        return None, None
    from kubeweft.webhook.secret import CertificateRotator, SecretCertificates
    from kubeweft.webhook.serving import (
        CertificateFiles,
        LocalRegistration,
        WebhookNames,
        WebhookServer,
    )

    names = WebhookNames.of(app_name, settings)
    source: CertificateSource
    rotator = None
    if mode == "local":
        source = LocalRegistration(
            client,
            webhooks,
            settings,
            names,
            field_manager=settings.field_manager,
            conversions=converted,
        )
    elif mode == "secret":
        source = SecretCertificates(client, names, settings)
        crds = tuple(c.hub.model_info.crd_name for c in converted)
        rotator = CertificateRotator(client, names, settings, crds=crds)
    else:
        source = CertificateFiles(settings.webhook_cert_dir)
    return WebhookServer(webhooks, settings, source, converted), rotator
