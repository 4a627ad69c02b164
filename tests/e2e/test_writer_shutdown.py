"""SIGTERM while records wait for the database: they are written before the exit.

``kubeweft run`` (the real process, on a private PostgreSQL) reconciles a WebApp
created with kubectl while PostgreSQL is stopped, so its history and reconcile-log
records wait in the writer's buffer (``kubeweft_records_pending``). The process then
gets SIGTERM and PostgreSQL comes back: the graceful shutdown flushes the buffer
before the process exits 0, and the rows are in the database afterwards. Without the
flush they would be lost with the process.
"""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest

from kubeweft.localcluster.access import ClusterAccess
from tests.support.postgres import POSTGRESQL_ONLY, PostgresServer
from tests.support.process import kubeweft_run, metric
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.localcluster, pytest.mark.postgres, pytest.mark.usefixtures("webapp_crd")]

DRAIN_S = 60.0


def rows(server: PostgresServer, url: str, table: str, uid: str) -> int:
    name = url.rsplit("/", 1)[1]
    return int(server.psql(f"SELECT count(*) FROM {table} WHERE uid = '{uid}'", name).strip())


@POSTGRESQL_ONLY  # a new database, dropped after the server is started again
def test_records_pending_at_sigterm_are_written_before_exit(
    local_cluster: ClusterAccess,
    namespace: str,
    postgres_server: PostgresServer,
    database_url: str,
    tmp_path: Path,
) -> None:
    env = {
        "KUBEWEFT_DATABASE_URL": database_url,
        "KUBEWEFT_WATCH_NAMESPACE": namespace,
        "KUBEWEFT_LEADER_ELECTION": "false",
        "KUBEWEFT_DRAIN_TIMEOUT_SECONDS": str(DRAIN_S),
    }
    with kubeweft_run(
        local_cluster.kubeconfig_path, tmp_path, "--no-api", env=env, stop_timeout=DRAIN_S + 30
    ) as process:
        postgres_server.stop()
        manifest = {
            "apiVersion": "kubeweft.dev/v1",
            "kind": "WebApp",
            "metadata": {"name": "late", "namespace": namespace},
            "spec": {"image": "nginx:1.27", "replicas": 1},
        }
        local_cluster.kubectl("apply", "-f", "-", input=json.dumps(manifest))
        uid = local_cluster.kubectl(
            "get", "webapp", "late", "-n", namespace, "-o", "jsonpath={.metadata.uid}"
        ).stdout
        pending = wait_until(
            lambda: metric(process.probe_url, "kubeweft_records_pending") or 0.0,
            accept=lambda n: n >= 2,  # the history row and at least one reconcile attempt
            what="records waiting for PostgreSQL",
            timeout=120.0,
        )

        process.popen.send_signal(signal.SIGTERM)
        postgres_server.start()
        try:
            code = process.popen.wait(timeout=DRAIN_S + 30)
        except subprocess.TimeoutExpired:
            pytest.fail(f"no exit within the drain timeout\n{process.log_tail()}")
        assert code == 0, process.log_tail()

    assert "records not written before the drain timeout" not in process.log()
    assert rows(postgres_server, database_url, "change_history", uid) == 1
    assert rows(postgres_server, database_url, "reconcile_log", uid) >= 1
    print(f"\n{pending:.0f} records were pending at SIGTERM")
