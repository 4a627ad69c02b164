"""An existing cluster named by a kubeconfig, behind the same surface as ``LocalCluster``.

Lets the integration tests run against any cluster (``KUBEWEFT_TEST_KUBECONFIG``). The
kubeconfig's current context decides the server and credentials; its CA is written to
a file so HTTP clients can verify the server. Non-admin users and API-server restarts
are not available here (``NotSupported``).
"""

from __future__ import annotations

import base64
import shutil
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
            ca = Path(cluster["certificate-authority"])
            self.ca_path = ca if ca.is_absolute() else kubeconfig_path.parent / ca
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
        token = self._user.get("token")
        if not isinstance(token, str):
            raise NotSupported(
                f"{self.kubeconfig_path}: the current user has no bearer token "
                "(client certificates and exec plugins are not supported by http())"
            )
        return token

    def close(self) -> None:
        shutil.rmtree(self._scratch, ignore_errors=True)
