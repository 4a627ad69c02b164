"""kill -9 while PostgreSQL is down: after the restart every generation has one history row.

``kubeweft run`` (the real process, on a private PostgreSQL) reconciles four
generations of a WebApp while PostgreSQL is stopped — created and changed through the
REST API (the actor is the caller) and once with kubectl (no actor: the change stamp no
longer matches the spec). Each generation is acknowledged (``observedGeneration``)
before the next change, so the process has acted on all four; their history records
can only wait. The process is then killed with SIGKILL, PostgreSQL starts, and a new
process starts on the same state directory: the history must hold exactly one row per
generation, with that generation's spec, actor and patch. Kept only in memory, the
first three records died with the process, and the restart could re-derive only the
current generation from the object.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from kubeweft.localcluster.access import ClusterAccess
from tests.support.postgres import POSTGRESQL_ONLY, PostgresServer
from tests.support.process import kubeweft_run, metric
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.localcluster, pytest.mark.postgres, pytest.mark.usefixtures("webapp_crd")]

ACTOR = "e2e-user"  # the process's development identity (tests.support.process)
DEADLINE = 120.0


def history(server: PostgresServer, url: str, uid: str) -> list[dict[str, Any]]:
    sql = (
        "SELECT coalesce(json_agg(json_build_object('generation', generation, 'actor', actor,"
        " 'spec', spec, 'patch', patch) ORDER BY generation), '[]') FROM change_history"
        f" WHERE uid = '{uid}'"
    )
    rows: list[dict[str, Any]] = json.loads(server.psql(sql, url.rsplit("/", 1)[1]))
    return rows


@POSTGRESQL_ONLY  # a new database, dropped after the server is started again
def test_a_kill_during_an_outage_loses_no_generation(
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
    }
    item = f"/api/webapps/{namespace}/shop"
    merge = {"content-type": "application/merge-patch+json"}

    def field(path: str) -> str:
        return local_cluster.kubectl(
            "get", "webapp", "shop", "-n", namespace, "-o", f"jsonpath={{{path}}}"
        ).stdout

    def acknowledged(generation: int) -> None:
        wait_until(
            lambda: field(".status.observedGeneration"),
            accept=lambda observed: observed == str(generation),
            what=f"generation {generation} acknowledged",
            timeout=DEADLINE,
        )

    with kubeweft_run(local_cluster.kubeconfig_path, tmp_path, env=env) as first:
        postgres_server.stop()
        with httpx.Client(base_url=first.api_url or "", timeout=60.0) as api:
            body = {"name": "shop", "namespace": namespace, "spec": {"image": "nginx:1"}}
            assert api.post("/api/webapps", json=body).status_code == 201
            acknowledged(1)
            patched = api.patch(item, json={"spec": {"image": "nginx:2"}}, headers=merge)
            assert patched.status_code == 200, patched.text
            acknowledged(2)
            local_cluster.kubectl(
                "patch", "webapp", "shop", "-n", namespace, "--type=merge",
                "-p", json.dumps({"spec": {"image": "nginx:3"}}),
            )  # fmt: skip
            acknowledged(3)
            patched = api.patch(item, json={"spec": {"replicas": 2}}, headers=merge)
            assert patched.status_code == 200, patched.text
            acknowledged(4)
        assert (metric(first.probe_url, "kubeweft_records_pending") or 0) >= 4
        first.kill()

    postgres_server.start()
    uid = field(".metadata.uid")
    with kubeweft_run(local_cluster.kubeconfig_path, tmp_path, "--no-api", env=env):
        rows = wait_until(
            lambda: history(postgres_server, database_url, uid),
            accept=lambda rows: any(row["generation"] == 4 for row in rows),
            what="the current generation's history row",
            timeout=DEADLINE,
        )

    assert [(row["generation"], row["actor"]) for row in rows] == [
        (1, ACTOR),
        (2, ACTOR),
        (3, None),  # kubectl: the stamp names the spec of generation 2
        (4, ACTOR),
    ]
    assert [(row["spec"]["image"], row["spec"]["replicas"]) for row in rows] == [
        ("nginx:1", 1),
        ("nginx:2", 1),
        ("nginx:3", 1),
        ("nginx:3", 2),
    ]
    assert [row["patch"] for row in rows] == [
        None,
        [{"op": "replace", "path": "/image", "value": "nginx:2"}],
        [{"op": "replace", "path": "/image", "value": "nginx:3"}],
        [{"op": "replace", "path": "/replicas", "value": 2}],
    ]
