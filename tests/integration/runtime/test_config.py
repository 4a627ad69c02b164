"""In-cluster configuration against the real kube-apiserver of the local control plane.

The service-account files are laid out as the kubelet mounts them (token, ca.crt,
namespace); the token is rewritten while one client stays open, as the kubelet does
when it rotates a projected token, and the API server must then see the new identity.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from lightkube.resources.authentication_v1 import SelfSubjectReview

from kubeweft.localcluster.access import ClusterAccess
from kubeweft.runtime import errors
from kubeweft.runtime.client import Client
from kubeweft.runtime.config import in_cluster_config

pytestmark = [pytest.mark.localcluster, pytest.mark.anyio]


def token_of(cluster: ClusterAccess, namespace: str, account: str) -> str:
    return cluster.kubectl("create", "token", "-n", namespace, account).stdout.strip()


async def whoami(client: Client) -> str:
    review = await client.create(SelfSubjectReview())
    assert review.status is not None
    assert review.status.userInfo is not None
    return str(review.status.userInfo.username)


@pytest.fixture
def mount(local_cluster: ClusterAccess, namespace: str, tmp_path: Path) -> Path:
    """``/var/run/secrets/kubernetes.io/serviceaccount`` of a pod running as ``first``."""
    for account in ("first", "second"):
        local_cluster.kubectl("create", "serviceaccount", "-n", namespace, account)
    directory = tmp_path / "serviceaccount"
    directory.mkdir()
    (directory / "token").write_text(token_of(local_cluster, namespace, "first"))
    (directory / "ca.crt").write_bytes(local_cluster.ca_path.read_bytes())
    (directory / "namespace").write_text(namespace)
    return directory


async def test_in_cluster_client_follows_a_rotated_token(
    local_cluster: ClusterAccess, namespace: str, mount: Path
) -> None:
    server = urlsplit(local_cluster.server)
    config = in_cluster_config(mount, host=server.hostname or "", port=str(server.port))
    assert config.namespace == namespace
    async with Client.from_config(config) as client:
        assert client.default_namespace == namespace
        assert await whoami(client) == f"system:serviceaccount:{namespace}:first"

        (mount / "token").write_text(token_of(local_cluster, namespace, "second"))
        assert await whoami(client) == f"system:serviceaccount:{namespace}:second"

        # A token the API server refuses is an error, not a retry loop ...
        (mount / "token").write_text("not-a-token")
        with pytest.raises(errors.Unauthorized):
            await whoami(client)
        # ... and the next rotation heals the same client.
        (mount / "token").write_text(token_of(local_cluster, namespace, "first"))
        assert await whoami(client) == f"system:serviceaccount:{namespace}:first"
