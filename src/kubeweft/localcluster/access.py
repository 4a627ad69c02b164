"""How tests and tools reach a cluster: kubeconfig, server URL, CA, kubectl, HTTP.

``LocalCluster`` and ``ExternalCluster`` (an existing cluster named by a kubeconfig)
share this surface, so the same integration tests run against either. Abilities only a
cluster we started can offer (non-admin users' tokens, restarting the API server)
raise ``NotSupported`` on an external cluster; the pytest plugin turns that into a skip.
"""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:  # imported where used: `kubeweft run` never loads httpx (≈ 5 MiB)
    import httpx

NON_ADMIN_USERS = ("alice", "bob", "carol")


class NotSupported(RuntimeError):
    """This cluster cannot do that (e.g. restart the API server of an external cluster)."""


class KubectlError(subprocess.CalledProcessError):
    """kubectl exited non-zero; the message carries its stderr."""

    def __str__(self) -> str:
        return f"{super().__str__()}\nstderr: {self.stderr}\nstdout: {self.output}"


class ClusterAccess:
    """The kubeconfig, server and CA of a reachable cluster, plus kubectl and HTTP helpers."""

    kubeconfig_path: Path
    server: str
    ca_path: Path
    kubectl_path: Path

    def admin_token(self) -> str:
        raise NotSupported("no admin bearer token for this cluster")

    def token_for(self, user: str) -> str:
        raise NotSupported(f"no token for user {user!r}: non-admin users need a LocalCluster")

    def kubeconfig_for(self, user: str) -> Path:
        raise NotSupported(f"no kubeconfig for user {user!r}: non-admin users need a LocalCluster")

    def restart_apiserver(self) -> None:
        raise NotSupported("restarting the API server needs a LocalCluster")

    def stop_apiserver(self) -> None:
        raise NotSupported("stopping the API server needs a LocalCluster")

    def start_apiserver(self) -> None:
        raise NotSupported("starting the API server needs a LocalCluster")

    def kubectl(
        self,
        *args: str,
        check: bool = True,
        input: str | None = None,
        user: str | None = None,
        timeout: float = 120.0,
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl against this cluster as admin (or as ``user``)."""
        config = self.kubeconfig_path if user is None else self.kubeconfig_for(user)
        command = [str(self.kubectl_path), f"--kubeconfig={config}", *args]
        result = subprocess.run(
            command, input=input, capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and result.returncode != 0:
            raise KubectlError(result.returncode, command, result.stdout, result.stderr)
        return result

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_path))

    def http(self, *, token: str | None = None, timeout: float = 30.0) -> httpx.Client:
        """An HTTP client on the API server, authenticated with ``token`` (default: admin)."""
        import httpx

        bearer = token if token is not None else self.admin_token()
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        return httpx.Client(
            base_url=self.server, verify=self.ssl_context(), headers=headers, timeout=timeout
        )

    def apply(self, manifests: Sequence[dict[str, Any]] | str) -> None:
        """``kubectl apply -f -`` of YAML text or a list of manifests."""
        text = manifests if isinstance(manifests, str) else yaml.safe_dump_all(list(manifests))
        self.kubectl("apply", "-f", "-", input=text)
