"""Service accounts and their tokens on the real API server, for tests that authenticate.

A test makes an account with ``service_account`` (a manifest for ``ClusterAccess.apply``)
and gets a short-lived token for it from the API server with ``token`` (``kubectl create
token``), optionally minted for an audience.
"""

from __future__ import annotations

from typing import Any

from kubeweft.localcluster.access import ClusterAccess


def service_account(namespace: str, name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": name, "namespace": namespace},
    }


def token(cluster: ClusterAccess, namespace: str, account: str, *audiences: str) -> str:
    flags = [f"--audience={audience}" for audience in audiences]
    return cluster.kubectl(
        "create", "token", account, "-n", namespace, "--duration=10m", *flags
    ).stdout.strip()
