"""Webhook configurations are cluster-wide: whatever a test here registered on the
session's control plane is removed after it, so no later test meets a webhook whose
server is gone."""

from collections.abc import Iterator

import pytest

from kubeweft.localcluster import ClusterAccess

CONFIGURATIONS = (
    "mutatingwebhookconfiguration/kubeweft-mutating-webhook-configuration",
    "validatingwebhookconfiguration/kubeweft-validating-webhook-configuration",
)


@pytest.fixture
def webhook_configurations(local_cluster: ClusterAccess) -> Iterator[tuple[str, ...]]:
    """The names the shipped application's configurations get; deleted after the test."""
    try:
        yield CONFIGURATIONS
    finally:
        local_cluster.kubectl("delete", "--ignore-not-found", *CONFIGURATIONS)
