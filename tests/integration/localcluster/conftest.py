"""Fixtures for the tests that start clusters of their own (lifecycle, detached)."""

from __future__ import annotations

import os

import pytest

from kubeweft.localcluster import Binaries, find_binaries


@pytest.fixture(scope="module")
def binaries() -> Binaries:
    if os.environ.get("KUBEWEFT_TEST_KUBECONFIG"):
        pytest.skip("KUBEWEFT_TEST_KUBECONFIG is set: these tests start their own clusters")
    try:
        return find_binaries()
    except Exception as error:
        pytest.skip(f"local control plane unavailable: {error}")


def group_alive(pgid: int) -> bool:
    """Whether any process of the group still exists."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True
