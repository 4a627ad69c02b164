"""Kubeconfig files for the local cluster's users and components.

Each file is self-contained (the CA is embedded as ``certificate-authority-data``), so
it can be copied elsewhere or handed to ``KUBECONFIG`` without the data dir's layout.
Users authenticate with bearer tokens from the API server's static token file.
"""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

CLUSTER_NAME = "kubeweft-local"


@dataclass(frozen=True)
class StaticUser:
    """A line of ``--token-auth-file``: token, user name, uid and groups."""

    name: str
    token: str
    groups: tuple[str, ...] = ()


def token_file(users: Iterable[StaticUser]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for user in users:
        row = [user.token, user.name, user.name]
        if user.groups:
            row.append(",".join(user.groups))
        writer.writerow(row)
    return out.getvalue()


def render(server: str, ca_pem: bytes, user: str, token: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": CLUSTER_NAME,
                "cluster": {
                    "server": server,
                    "certificate-authority-data": base64.b64encode(ca_pem).decode(),
                },
            }
        ],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [
            {
                "name": f"{user}@{CLUSTER_NAME}",
                "context": {"cluster": CLUSTER_NAME, "user": user, "namespace": "default"},
            }
        ],
        "current-context": f"{user}@{CLUSTER_NAME}",
        "preferences": {},
    }


def write(path: Path, server: str, ca_pem: bytes, user: str, token: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(render(server, ca_pem, user, token), sort_keys=False))
    path.chmod(0o600)
    return path
