"""Processes outside pytest's own: ``kubeweft cluster up/status/down`` leave and then
remove a running cluster, and Ctrl-C in a program using LocalCluster stops every
component it started."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from kubeweft.localcluster import Binaries
from kubeweft.localcluster.state import running_pids
from tests.integration.localcluster.conftest import group_alive

pytestmark = [pytest.mark.localcluster, pytest.mark.slow]

KUBEWEFT = Path(sys.executable).parent / "kubeweft"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(KUBEWEFT), "cluster", *args], capture_output=True, text=True, timeout=180
    )


def test_cluster_up_status_down(binaries: Binaries, tmp_path: Path) -> None:
    directory = tmp_path / "cluster"
    try:
        up = cli("up", "--dir", str(directory), "--nodes", "1")
        assert up.returncode == 0, up.stderr
        assert up.stdout.strip() == f"export KUBECONFIG={directory / 'kubeconfig'}"
        # `up` has exited; the components it started are still serving.
        pids = running_pids(directory)
        assert set(pids) >= {"etcd", "kube-apiserver"}

        status = cli("status", "--dir", str(directory))
        assert status.returncode == 0, status.stdout + status.stderr
        assert "ready" in status.stdout
        assert "nodes: 1" in status.stdout

        again = cli("up", "--dir", str(directory))
        assert again.returncode == 1
        assert "already running" in again.stderr
    finally:
        down = cli("down", "--dir", str(directory))
    assert down.returncode == 0, down.stderr
    assert running_pids(directory) == {}
    assert [name for name, pid in pids.items() if group_alive(pid)] == []
    assert cli("status", "--dir", str(directory)).returncode == 1


PROGRAM = """
import json, sys, time
from kubeweft.localcluster import LocalCluster
with LocalCluster(nodes=1) as cluster:
    print(json.dumps(cluster.pids), flush=True)
    time.sleep(600)
"""


def test_ctrl_c_stops_every_component(binaries: Binaries) -> None:
    program = subprocess.Popen(
        [sys.executable, "-c", PROGRAM], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert program.stdout is not None
        line = program.stdout.readline()
        assert line, program.stderr.read() if program.stderr else "no output"
        pids: dict[str, int] = json.loads(line)
        assert len(pids) == 5
        program.send_signal(signal.SIGINT)
        program.wait(timeout=60)
    finally:
        if program.poll() is None:
            program.kill()
            program.wait()
    assert program.returncode != 0  # KeyboardInterrupt propagated after the clean-up
    assert [name for name, pid in pids.items() if group_alive(pid)] == []
