"""pytest fixtures: one real control plane per test session, a fresh namespace per test.

``local_cluster`` starts a ``LocalCluster`` once per session (or, when
``KUBEWEFT_TEST_KUBECONFIG`` names a kubeconfig, wraps that existing cluster instead).
When the binaries are missing the tests that need the cluster are skipped with the
reason and the command that fixes it — except under continuous integration
(``CI=true``), where :func:`unavailable` FAILS them instead: a CI run that silently
skipped the tests against the real API server would pass without having tested
anything. This module itself imports nothing that needs the binaries, so collecting
tests never fails on a machine without Go.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from kubeweft.localcluster.access import ClusterAccess, NotSupported
from kubeweft.localcluster.build import BinariesUnavailable, find_binaries
from kubeweft.localcluster.cluster import LocalCluster
from kubeweft.localcluster.external import ExternalCluster

EXTERNAL_ENV = "KUBEWEFT_TEST_KUBECONFIG"
_FALSE = ("", "0", "false", "no", "off")


def in_ci() -> bool:
    """Whether this is a continuous-integration run (``CI`` set to a true value)."""
    return os.environ.get("CI", "").strip().lower() not in _FALSE


def unavailable(reason: str) -> NoReturn:
    """A real component the test needs (the local control plane, PostgreSQL, a tool)
    cannot be had: skip with ``reason`` — or, under ``CI=true``, fail with it."""
    if in_ci():
        pytest.fail(f"{reason} [CI is set: a missing component fails the run]", pytrace=False)
    pytest.skip(reason)


class SkippingExternalCluster(ExternalCluster):
    """An external cluster whose missing abilities skip the test that asks for them
    (fail it under ``CI=true``)."""

    def token_for(self, user: str) -> str:
        unavailable(f"{EXTERNAL_ENV} is set: no token for non-admin user {user!r}")

    def kubeconfig_for(self, user: str) -> Path:
        unavailable(f"{EXTERNAL_ENV} is set: no kubeconfig for non-admin user {user!r}")

    def restart_apiserver(self) -> None:
        unavailable(f"{EXTERNAL_ENV} is set: cannot restart an external API server")

    def stop_apiserver(self) -> None:
        unavailable(f"{EXTERNAL_ENV} is set: cannot stop an external API server")

    def start_apiserver(self) -> None:
        unavailable(f"{EXTERNAL_ENV} is set: cannot start an external API server")


@pytest.fixture(scope="session")
def local_cluster() -> Iterator[ClusterAccess]:
    """The session's cluster: a ``LocalCluster``, or the one ``KUBEWEFT_TEST_KUBECONFIG`` names."""
    external = os.environ.get(EXTERNAL_ENV)
    if external:
        cluster = SkippingExternalCluster(Path(external))
        try:
            yield cluster
        finally:
            cluster.close()
        return
    try:
        binaries = find_binaries()
    except BinariesUnavailable as error:
        unavailable(f"local control plane unavailable: {error}")
    with LocalCluster(binaries=binaries, nodes=2) as started:
        yield started


def _namespace_name(test_name: str) -> str:
    stem = re.sub(r"[^a-z0-9-]+", "-", test_name.lower()).strip("-")[:40].strip("-")
    return f"t-{stem}-{secrets.token_hex(3)}"


@pytest.fixture
def namespace(local_cluster: ClusterAccess, request: pytest.FixtureRequest) -> Iterator[str]:
    """A new namespace named after the test, with its ``default`` ServiceAccount (Pods
    are admitted only once it exists); deleted, without waiting, after the test."""
    name = _namespace_name(request.node.name)
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    with local_cluster.http() as client:
        client.post("/api/v1/namespaces", json=body).raise_for_status()
        account = f"/api/v1/namespaces/{name}/serviceaccounts/default"
        deadline = time.monotonic() + 30.0
        while client.get(account).status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.05)
    try:
        yield name
    finally:
        with local_cluster.http() as client:
            client.delete(f"/api/v1/namespaces/{name}")


__all__ = ["NotSupported", "in_ci", "local_cluster", "namespace", "unavailable"]
