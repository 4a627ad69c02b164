"""Fixtures of the database tests: a PostgreSQL server of the test's own, and freezing it.

Freezing (``SIGSTOP``) a server stalls every connection to it, so it is done only to a
server the test started itself, never to the session's shared one.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from kubeweft.localcluster.pytest_plugin import unavailable
from tests.support.postgres import INSTALL_HINT, PostgresServer, find_bin_dir


@pytest.fixture
def private_postgres() -> Iterator[PostgresServer]:
    """A server of this test's own: freezing it must not stall anyone else's."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        unavailable(INSTALL_HINT)  # fails under CI=true
    with PostgresServer(bin_dir) as server:
        yield server


@contextmanager
def frozen(server: PostgresServer) -> Iterator[None]:
    """SIGSTOP the server's postmaster and every backend it forked; SIGCONT on exit."""
    postmaster = int((server.data_dir / "postmaster.pid").read_text().split()[0])
    children = subprocess.run(
        ["pgrep", "-P", str(postmaster)], capture_output=True, text=True, check=False
    ).stdout.split()
    pids = [postmaster, *(int(pid) for pid in children)]
    stopped: list[int] = []
    try:
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
            stopped.append(pid)
        yield
    finally:
        for pid in stopped:
            os.kill(pid, signal.SIGCONT)
