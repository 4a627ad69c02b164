"""A LocalCluster leaves no process behind: not after a normal exit, not when the body
raises, not when start-up fails; and its API server restarts on the same port with the
same data. Each test starts its own small cluster, separate from the session's."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from kubeweft.localcluster import Binaries, ClusterStartError, LocalCluster
from tests.integration.localcluster.conftest import group_alive

pytestmark = [pytest.mark.localcluster, pytest.mark.slow]

COMPONENTS = {"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"}


def test_no_process_survives_the_context_even_when_the_body_raises(
    binaries: Binaries,
) -> None:
    class Boom(Exception):
        pass

    seen: dict[str, object] = {}

    def use_then_fail() -> None:
        with LocalCluster(binaries=binaries, nodes=1) as cluster:
            seen.update(pids=cluster.pids, data_dir=cluster.data_dir)
            assert set(cluster.pids) == COMPONENTS
            assert all(group_alive(pid) for pid in cluster.pids.values())
            raise Boom

    with pytest.raises(Boom):
        use_then_fail()

    pids = seen["pids"]
    data_dir = seen["data_dir"]
    assert isinstance(pids, dict)
    assert isinstance(data_dir, Path)
    assert [name for name, pid in pids.items() if group_alive(pid)] == []
    assert not data_dir.exists()


def test_failed_start_reports_the_log_and_stops_what_it_started(binaries: Binaries) -> None:
    cluster = LocalCluster(binaries=binaries, apiserver_args=["--no-such-flag=1"])
    with pytest.raises(ClusterStartError, match="no-such-flag") as raised:
        cluster.start()
    assert "kube-apiserver exited" in str(raised.value)
    assert cluster.components["etcd"].pid is not None
    assert [c.name for c in cluster.components.values() if group_alive(c.pid or 0)] == []


@pytest.mark.anyio
async def test_async_cluster_restarts_its_apiserver_with_data_kept(binaries: Binaries) -> None:
    async with LocalCluster(binaries=binaries, nodes=1) as cluster:
        server = cluster.server
        cluster.kubectl("create", "configmap", "survivor", "--from-literal=k=v")
        old_pid = cluster.pids["kube-apiserver"]

        cluster.stop_apiserver()
        with pytest.raises(httpx.ConnectError), cluster.http(timeout=2.0) as client:
            client.get("/readyz")
        cluster.start_apiserver()

        assert cluster.server == server
        assert cluster.pids["kube-apiserver"] != old_pid
        got = cluster.kubectl("get", "configmap", "survivor", "-o", "jsonpath={.data.k}")
        assert got.stdout == "v"

        cluster.restart_apiserver()
        with cluster.http() as client:
            assert client.get("/readyz").status_code == 200
        pids = cluster.pids

    assert [name for name, pid in pids.items() if group_alive(pid)] == []
