"""TLS for the HTTP servers, with the certificate reloaded when its files change.

Certificates are rotated by replacing files (cert-manager renews a Secret, the kubelet
swaps the mounted volume's symlink), and a restart per rotation would drop every
connection. The server's ``ssl.SSLContext`` carries an ``sni_callback``, which OpenSSL
calls for each new handshake (with or without SNI); it stats the two files and, when
either changed, loads them into a fresh context that this and every later handshake
uses. Connections already open keep the certificate they were made with.

A half-written pair (the new certificate beside the old key) fails to load: the old
certificate stays in use and the load is retried on the next connection.
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path

from kubeweft.logging import get_logger
from kubeweft.settings import Settings

__all__ = ["ReloadingCertificate", "api_certificate"]

_log = get_logger("kubeweft.rest.tls")

_Signature = tuple[tuple[int, int, int], ...]


class ReloadingCertificate:
    """A server ``SSLContext`` (``context``) that follows ``cert_file`` and ``key_file``.

    The files are loaded once here, so a missing or broken pair fails at start-up.
    """

    def __init__(self, cert_file: Path, key_file: Path) -> None:
        self.cert_file = cert_file
        self.key_file = key_file
        self._signature = self._stat()
        self._current = self._load()
        self.context = self._load()
        self.context.sni_callback = self._on_client_hello

    def refresh(self) -> bool:
        """Load the files again if they changed; True when a new certificate is in use."""
        try:
            signature = self._stat()
        except OSError as error:
            _log.warning("tls files unreadable, keeping the loaded certificate", error=str(error))
            return False
        if signature == self._signature:
            return False
        try:
            loaded = self._load()
        except (OSError, ssl.SSLError) as error:
            _log.warning(
                "tls files failed to load, keeping the loaded certificate", error=str(error)
            )
            return False
        self._current, self._signature = loaded, signature
        _log.info("tls certificate reloaded", cert_file=str(self.cert_file))
        return True

    def _on_client_hello(
        self, connection: ssl.SSLObject | ssl.SSLSocket, server_name: str | None, _: ssl.SSLContext
    ) -> None:
        self.refresh()
        connection.context = self._current

    def _load(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.set_alpn_protocols(["http/1.1"])
        context.load_cert_chain(self.cert_file, self.key_file)
        return context

    def _stat(self) -> _Signature:
        stats = (os.stat(self.cert_file), os.stat(self.key_file))
        return tuple((s.st_mtime_ns, s.st_ino, s.st_size) for s in stats)


def api_certificate(settings: Settings) -> ReloadingCertificate | None:
    """The API port's certificate, when ``tls_cert_file`` and ``tls_key_file`` are set."""
    if settings.tls_cert_file is None or settings.tls_key_file is None:
        return None
    return ReloadingCertificate(settings.tls_cert_file, settings.tls_key_file)
