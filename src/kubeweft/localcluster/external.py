"""An existing cluster named by a kubeconfig, behind the same surface as ``LocalCluster``.

Lets the integration tests run against any cluster (``KUBEWEFT_TEST_KUBECONFIG``). The
kubeconfig's current context decides the server and credentials; its CA is written to
a file so HTTP clients can verify the server. Non-admin users and API-server restarts
are not available here (``NotSupported``).
"""

from __future__ import annotations

import base64
import shutil
import ssl
import tempfile
from pathlib import Path
from typing import Any

import yaml

from kubeweft.localcluster.access import ClusterAccess, NotSupported
from kubeweft.localcluster.build import BinariesUnavailable, find_binaries


def _named(entries: list[dict[str, Any]], name: str) -> dict[str, Any]:
    for entry in entries:
        if entry.get("name") == name:
            return entry
    raise ValueError(f"kubeconfig has no entry named {name!r}")


class ExternalCluster(ClusterAccess):
    def __init__(self, kubeconfig_path: Path) -> None:
        self.kubeconfig_path = kubeconfig_path
        config: dict[str, Any] = yaml.safe_load(kubeconfig_path.read_text())
        context = _named(config.get("contexts", []), config["current-context"])["context"]
        cluster = _named(config.get("clusters", []), context["cluster"])["cluster"]
        self._user = _named(config.get("users", []), context["user"])["user"]
        self.server = cluster["server"]
        self._scratch = Path(tempfile.mkdtemp(prefix="kubeweft-external-"))
        if "certificate-authority-data" in cluster:
            self.ca_path = self._scratch / "ca.crt"
            self.ca_path.write_bytes(base64.b64decode(cluster["certificate-authority-data"]))
        elif "certificate-authority" in cluster:
            self.ca_path = self._relative(cluster["certificate-authority"])
        else:
            raise NotSupported(f"{kubeconfig_path}: the cluster entry has no CA")

    @property
    def kubectl_path(self) -> Path:  # type: ignore[override]
        try:
            return find_binaries().kubectl
        except BinariesUnavailable:
            found = shutil.which("kubectl")
            if found is None:
                raise
            return Path(found)

    def admin_token(self) -> str:
        """The current user's bearer token; empty when it authenticates by client
        certificate (then ``ssl_context`` presents the certificate)."""
        token = self._user.get("token")
        if isinstance(token, str):
            return token
        if self._client_cert() is not None:
            return ""
        raise NotSupported(
            f"{self.kubeconfig_path}: the current user has neither a bearer token nor a "
            "client certificate (exec plugins are not supported by http())"
        )

    def _client_cert(self) -> tuple[Path, Path] | None:
        pairs = (
            ("client-certificate-data", "client-key-data"),
            ("client-certificate", "client-key"),
        )
        for cert_key, key_key in pairs:
            if cert_key in self._user and key_key in self._user:
                if cert_key.endswith("-data"):
                    cert, key = self._scratch / "client.crt", self._scratch / "client.key"
                    cert.write_bytes(base64.b64decode(self._user[cert_key]))
                    key.write_bytes(base64.b64decode(self._user[key_key]))
                    key.chmod(0o600)
                    return cert, key
                return self._relative(self._user[cert_key]), self._relative(self._user[key_key])
        return None

    def _relative(self, path: str) -> Path:
        return Path(path) if Path(path).is_absolute() else self.kubeconfig_path.parent / path

    def ssl_context(self) -> ssl.SSLContext:
        context = super().ssl_context()
        pair = self._client_cert()
        if pair is not None:
            context.load_cert_chain(str(pair[0]), str(pair[1]))
        return context

    def close(self) -> None:
        shutil.rmtree(self._scratch, ignore_errors=True)
