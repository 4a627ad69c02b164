"""Fixtures for the tests that start clusters of their own (lifecycle, detached)."""

from __future__ import annotations

import os

import pytest

from kubeweft.localcluster import Binaries, BinariesUnavailable, find_binaries
from kubeweft.localcluster.pytest_plugin import unavailable


@pytest.fixture(scope="module")
def binaries() -> Binaries:
    if os.environ.get("KUBEWEFT_TEST_KUBECONFIG"):
        unavailable("KUBEWEFT_TEST_KUBECONFIG is set: these tests start their own clusters")
    try:
        return find_binaries()
    except BinariesUnavailable as error:  # anything else is a bug: let it fail the test
        unavailable(f"local control plane unavailable: {error}")


def group_alive(pgid: int) -> bool:
    """Whether any process of the group still exists."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True
