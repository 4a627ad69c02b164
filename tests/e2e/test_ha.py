"""High availability: two ``kubeweft run`` replicas on one PostgreSQL database.

The deployment in ``config/manager`` runs two replicas with leader election on. Every
replica serves the REST API from its own cache and the shared database; only the
holder of the Lease runs the WebApp controller. These tests run that shape for real —
two operator processes, the local control plane, a private PostgreSQL — and check:

* both replicas answer reads and writes, each seeing what the other wrote (Kubernetes
  objects through their own caches, database rows through the shared database);
* exactly one reconciles: it holds the Lease, reports ``leader_election_master_status``
  1 and counts reconciles; the other reports 0 and counts none;
* ``kill -9`` of the leader (no lease release) hands the controllers to the survivor,
  which converges every WebApp — created before the kill, during the failover, and
  one changed during the failover;
* SIGTERM of the leader releases the Lease and the standby takes over and reconciles;
* two replicas started at the same moment against an empty database migrate it once
  (the advisory lock) and both become ready.

The failover time is printed (``-s`` shows it), never asserted: bench/failover.py
measures it.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from kubeweft.db.migrate import head_revision
from kubeweft.localcluster.access import ClusterAccess
from tests.support.postgres import PostgresServer
from tests.support.process import KubeweftProcess, kubeweft_runs, metric, metric_sum
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.localcluster, pytest.mark.postgres]

T = TypeVar("T")
LEASE = "kubeweft-ha"
# Lease duration 15 s + retry period 2 s (the manager's defaults), with room for a
# loaded machine: the deadline for anything that waits on a failover.
FAILOVER_DEADLINE = 90.0
CONVERGE_DEADLINE = 120.0
BECAME_LEADER = re.compile(r"([\w.:-]+) became leader of lease " + LEASE)


# --- fixtures ----------------------------------------------------------------------------
@pytest.fixture
def empty_database(postgres_server: PostgresServer) -> Iterator[str]:
    """A new, unmigrated PostgreSQL database for this test; dropped afterwards."""
    url = postgres_server.create_database("ha")
    yield url
    postgres_server.drop_database(url)


def replica_env(database_url: str, namespace: str) -> dict[str, str]:
    """What config/manager sets, pointed at this test's database and namespace."""
    return {
        "KUBEWEFT_DATABASE_URL": database_url,
        "KUBEWEFT_LEADER_ELECTION": "true",
        "KUBEWEFT_LEADER_ELECTION_NAMESPACE": namespace,
        "KUBEWEFT_LEADER_ELECTION_ID": LEASE,
        # Only this test's namespace: other tests' leftover WebApps are not reconciled
        # here (and cannot make the replicas' reconcile counts differ from the test's).
        "KUBEWEFT_WATCH_NAMESPACE": namespace,
        "KUBEWEFT_INSTALL_CRDS": "false",
        "KUBEWEFT_DRAIN_TIMEOUT_SECONDS": "10",
    }


# --- polling helpers ------------------------------------------------------------------
def lease_holder(cluster: ClusterAccess, namespace: str) -> str | None:
    result = cluster.kubectl("get", "lease", LEASE, "-n", namespace, "-o", "json", check=False)
    if result.returncode != 0:
        return None
    holder: str | None = json.loads(result.stdout)["spec"].get("holderIdentity")
    return holder


def identity_of(process: KubeweftProcess) -> str | None:
    """The Lease identity a replica logged when it became leader (None: never led)."""
    for line in process.log().splitlines():
        match = BECAME_LEADER.search(line)
        if match:
            return match[1]
    return None


def leading(process: KubeweftProcess) -> float | None:
    return metric(process.probe_url, "leader_election_master_status", {"name": LEASE})


def reconciles(process: KubeweftProcess) -> float:
    return metric_sum(process.probe_url, "controller_runtime_reconcile_total")


def webapps(cluster: ClusterAccess, namespace: str) -> list[dict[str, Any]]:
    out = cluster.kubectl("get", "webapps", "-n", namespace, "-o", "json").stdout
    items: list[dict[str, Any]] = json.loads(out)["items"]
    return items


def converged(item: dict[str, Any]) -> bool:
    status = item.get("status") or {}
    ready = {c["type"]: c["status"] for c in status.get("conditions") or []}
    return (
        status.get("observedGeneration") == item["metadata"]["generation"]
        and ready.get("Ready") == "True"
    )


def unconverged(cluster: ClusterAccess, namespace: str) -> list[str]:
    return [i["metadata"]["name"] for i in webapps(cluster, namespace) if not converged(i)]


def create(api: str, namespace: str, name: str, image: str = "nginx:1.27") -> None:
    body = {"name": name, "namespace": namespace, "spec": {"image": image, "replicas": 1}}
    response = httpx.post(f"{api}/api/webapps", json=body, timeout=30.0)
    assert response.status_code == 201, response.text


def read(api: str, namespace: str, name: str) -> httpx.Response:
    return httpx.get(f"{api}/api/webapps/{namespace}/{name}", timeout=30.0)


def readable(api: str, namespace: str, name: str) -> bool:
    return read(api, namespace, name).status_code == 200


def who_leads(
    cluster: ClusterAccess, namespace: str, replicas: dict[str, KubeweftProcess]
) -> tuple[KubeweftProcess, KubeweftProcess]:
    """(leader, standby) once the Lease is held by one of ``replicas``."""

    def leader() -> KubeweftProcess | None:
        holder = lease_holder(cluster, namespace)
        return next((p for p in replicas.values() if holder and identity_of(p) == holder), None)

    found = wait_until(
        leader, what="a replica to hold the Lease", timeout=FAILOVER_DEADLINE, interval=0.1
    )
    (standby,) = (p for p in replicas.values() if p is not found)
    return found, standby


# --- tests -------------------------------------------------------------------------------
@pytest.mark.usefixtures("webapp_crd")
def test_two_replicas_serve_one_reconciles_and_fail_over(
    local_cluster: ClusterAccess, namespace: str, empty_database: str, tmp_path: Path
) -> None:
    env = replica_env(empty_database, namespace)
    with kubeweft_runs(
        local_cluster.kubeconfig_path, tmp_path, {"replica-a": env, "replica-b": env}
    ) as replicas:
        a, b = replicas["replica-a"], replicas["replica-b"]
        assert a.api_url
        assert b.api_url

        # Both serve reads and writes: a write on one is read on the other.
        create(a.api_url, namespace, "from-a")
        create(b.api_url, namespace, "from-b")
        for reader, name in ((b, "from-a"), (a, "from-b")):
            assert reader.api_url
            wait_until(
                partial(readable, reader.api_url, namespace, name),
                what=f"{reader.name} to read {name}",
                timeout=30.0,
                interval=0.1,
            )
        # Database rows: an annotation written through one replica is listed by the other.
        note = httpx.post(
            f"{a.api_url}/api/webapps/{namespace}/from-b/annotations",
            json={"body": "written through replica a"},
            timeout=30.0,
        )
        assert note.status_code == 201, note.text
        listed = httpx.get(f"{b.api_url}/api/webapps/{namespace}/from-b/annotations", timeout=30.0)
        assert listed.status_code == 200, listed.text
        assert "written through replica a" in listed.text
        patched = httpx.patch(
            f"{b.api_url}/api/webapps/{namespace}/from-a",
            json={"spec": {"replicas": 2}},
            headers={"content-type": "application/merge-patch+json"},
            timeout=30.0,
        )
        assert patched.status_code == 200, patched.text

        # Exactly one reconciles: the Lease holder.
        leader, standby = who_leads(local_cluster, namespace, replicas)
        assert identity_of(standby) is None
        wait_until(
            lambda: not unconverged(local_cluster, namespace),
            what="WebApps Ready",
            timeout=90.0,
            interval=0.1,
        )
        assert leading(leader) == 1
        assert leading(standby) == 0
        assert reconciles(leader) > 0
        assert reconciles(standby) == 0

        # Several WebApps in flight when the leader dies.
        for i in range(5):
            create(standby.api_url or "", namespace, f"before-{i}")
        leader.kill()
        killed_at = time.monotonic()
        # During the failover the standby keeps serving, and takes writes.
        assert standby.api_url
        for i in range(3):
            create(standby.api_url, namespace, f"during-{i}")
        changed = httpx.patch(
            f"{standby.api_url}/api/webapps/{namespace}/from-b",
            json={"spec": {"image": "nginx:1.28"}},
            headers={"content-type": "application/merge-patch+json"},
            timeout=30.0,
        )
        assert changed.status_code == 200, changed.text
        assert read(standby.api_url, namespace, "from-a").status_code == 200

        identity = wait_until(
            lambda: identity_of(standby),
            what="the standby to lead",
            timeout=FAILOVER_DEADLINE,
            interval=0.1,
        )
        wait_until(
            lambda: lease_holder(local_cluster, namespace) == identity,
            what="the Lease to name the new leader",
            timeout=FAILOVER_DEADLINE,
            interval=0.1,
        )
        wait_until(
            lambda: reconciles(standby) > 0,
            what="a reconcile by the new leader",
            timeout=30.0,
            interval=0.1,
        )
        took_over = time.monotonic() - killed_at
        assert leading(standby) == 1
        wait_until(
            lambda: not unconverged(local_cluster, namespace),
            what="every WebApp converged after the failover",
            timeout=CONVERGE_DEADLINE,
            interval=0.1,
        )
        names = {i["metadata"]["name"] for i in webapps(local_cluster, namespace)}
        assert names == {"from-a", "from-b"} | {f"before-{i}" for i in range(5)} | {
            f"during-{i}" for i in range(3)
        }
        image = local_cluster.kubectl(
            "get",
            "deployment",
            "from-b",
            "-n",
            namespace,
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
        ).stdout
        assert image == "nginx:1.28"
        print(f"failover: leader killed -> first reconcile by the new leader {took_over:.1f} s")
        assert standby.alive()


@pytest.mark.usefixtures("webapp_crd")
def test_replicas_starting_together_migrate_an_empty_database_once(
    local_cluster: ClusterAccess,
    namespace: str,
    empty_database: str,
    postgres_server: PostgresServer,
    tmp_path: Path,
) -> None:
    database = empty_database.rsplit("/", 1)[1]
    assert postgres_server.psql("SELECT to_regclass('public.alembic_version')", database) == "\n"
    env = replica_env(empty_database, namespace)
    with kubeweft_runs(
        local_cluster.kubeconfig_path, tmp_path, {"replica-a": env, "replica-b": env}
    ) as replicas:
        rows = postgres_server.psql("SELECT version_num FROM alembic_version", database)
        assert rows.split() == [head_revision()]
        for replica in replicas.values():
            log = replica.log()
            assert "migrating the database" in log
            levels = [json.loads(line).get("level") for line in log.splitlines() if line[:1] == "{"]
            assert "error" not in levels, replica.log_tail()
            assert "critical" not in levels, replica.log_tail()
            assert replica.alive()
        leader, standby = who_leads(local_cluster, namespace, replicas)
        assert leading(leader) == 1
        assert leading(standby) == 0


@pytest.mark.usefixtures("webapp_crd")
def test_sigterm_of_the_leader_releases_the_lease_to_the_standby(
    local_cluster: ClusterAccess, namespace: str, empty_database: str, tmp_path: Path
) -> None:
    env = replica_env(empty_database, namespace)
    with kubeweft_runs(
        local_cluster.kubeconfig_path, tmp_path, {"replica-a": env, "replica-b": env}
    ) as replicas:
        leader, standby = who_leads(local_cluster, namespace, replicas)
        assert leader.api_url
        create(leader.api_url, namespace, "web")
        wait_until(
            lambda: not unconverged(local_cluster, namespace),
            what="web Ready",
            timeout=90.0,
            interval=0.1,
        )
        assert leader.stop() == 0
        assert "released lease" in leader.log()
        # Released, not expired: the standby's next poll takes it (no wall-clock bound
        # asserted; the deadline is only a hang guard).
        identity = wait_until(
            lambda: identity_of(standby), what="the standby to lead", timeout=60.0, interval=0.1
        )
        assert lease_holder(local_cluster, namespace) == identity
        assert standby.api_url
        changed = httpx.patch(
            f"{standby.api_url}/api/webapps/{namespace}/web",
            json={"spec": {"replicas": 3}},
            headers={"content-type": "application/merge-patch+json"},
            timeout=30.0,
        )
        assert changed.status_code == 200, changed.text
        wait_until(
            lambda: not unconverged(local_cluster, namespace),
            what="web converged",
            timeout=90.0,
            interval=0.1,
        )
        (item,) = webapps(local_cluster, namespace)
        assert item["status"]["readyReplicas"] == 3
