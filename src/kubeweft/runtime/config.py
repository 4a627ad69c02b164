"""Where the API server is and who we are to it: kubeconfig or in-cluster.

The configuration itself is lightkube's (``SingleConfig``); this module chooses the
source in controller-runtime's order (an explicit kubeconfig, then the pod's service
account, then ``~/.kube/config``) and fixes one thing lightkube leaves to chance:
projected service-account tokens rotate (kubelet rewrites the file about hourly), so
the token is re-read whenever the file changes, not only after a 401.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
from lightkube.config.kubeconfig import KubeConfig, SingleConfig
from lightkube.config.models import Cluster, User

from kubeweft.settings import Settings

__all__ = ["ClusterConfig", "RotatingTokenAuth", "in_cluster_config", "load_config"]

DEFAULT_KUBECONFIG = Path("~/.kube/config")


class RotatingTokenAuth(httpx.Auth):
    """Bearer token read from a file, re-read when the file's mtime or size changes."""

    def __init__(self, token_file: Path) -> None:
        self._path = token_file
        self._stamp: tuple[float, int] | None = None
        self._header = ""

    def _refresh(self, force: bool = False) -> str:
        stat = self._path.stat()
        stamp = (stat.st_mtime, stat.st_size)
        if force or stamp != self._stamp:
            self._header = f"Bearer {self._path.read_text().strip()}"
            self._stamp = stamp
        return self._header

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._refresh()
        response = yield request
        if response.status_code == 401:
            # Rotated between our stat and the server's check: one re-read, one retry.
            request.headers["Authorization"] = self._refresh(force=True)
            yield request


@dataclass(frozen=True)
class ClusterConfig:
    """A selected context plus, in a pod, the token file to keep re-reading."""

    single: SingleConfig
    token_file: Path | None = None

    @property
    def namespace(self) -> str:
        return self.single.namespace

    @property
    def server(self) -> str:
        return self.single.cluster.server


def in_cluster_config(service_account_dir: Path, *, host: str, port: str) -> ClusterConfig:
    """Configuration from a mounted service account (token, ca.crt, namespace)."""
    token_file = service_account_dir / "token"
    namespace_file = service_account_dir / "namespace"
    namespace = namespace_file.read_text().strip() if namespace_file.exists() else "default"
    if ":" in host:
        host = f"[{host}]"
    kubeconfig = KubeConfig.from_one(
        cluster=Cluster(
            server=f"https://{host}:{port}",
            certificate_auth=str(service_account_dir / "ca.crt"),
        ),
        user=User(token_file=str(token_file)),
        namespace=namespace,
    )
    single = kubeconfig.get()
    assert single is not None
    return ClusterConfig(single, token_file)


def load_config(
    settings: Settings | None = None,
    *,
    kubeconfig: Path | None = None,
    context: str | None = None,
) -> ClusterConfig:
    """Pick the configuration source: explicit kubeconfig, in-cluster, then the default file."""
    settings = settings or Settings()
    path = kubeconfig or settings.kubeconfig
    context = context or settings.kube_context
    if path is None:
        token = settings.service_account_dir / "token"
        host = os.environ.get("KUBERNETES_SERVICE_HOST")
        port = os.environ.get("KUBERNETES_SERVICE_PORT")
        if token.exists() and host and port:
            return in_cluster_config(settings.service_account_dir, host=host, port=port)
        path = DEFAULT_KUBECONFIG
    single = KubeConfig.from_file(path.expanduser()).get(context)
    if single is None:
        raise ValueError(f"kubeconfig {path} has no context {context or '(current)'}")
    token_file = Path(single.user.token_file) if single.user and single.user.token_file else None
    return ClusterConfig(single, token_file)
