"""The real elector in a real process: ``kubeweft run`` with leader election leads a
namespace on the local control plane until it loses its Lease — the test writes another
holder into it, or the API server stops answering (through a proxy) until the renew
deadline passes. Either way it must stop its controllers, exit non-zero (so the kubelet
restarts it as a standby), leave the Lease to the next holder, and log no reconcile
after the loss."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import anyio
import pytest
from lightkube.models.coordination_v1 import LeaseSpec
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.coordination_v1 import Lease

from kubeweft.examples.webapp.api.v1 import WebApp
from kubeweft.localcluster.access import ClusterAccess
from kubeweft.runtime import errors
from kubeweft.runtime.client import Client
from tests.support.delaying_proxy import DelayingProxy, kubeconfig_via
from tests.support.process import KubeweftProcess, spawn
from tests.support.waiting import wait_until_async

pytestmark = [pytest.mark.localcluster, pytest.mark.anyio]

LEASE = "taken-away"


@pytest.fixture
async def client(local_cluster: ClusterAccess) -> AsyncIterator[Client]:
    async with Client.from_kubeconfig(local_cluster.kubeconfig_path) as c:
        yield c


async def take_lease(client: Client, namespace: str) -> None:
    """Write another holder into the Lease (retrying if a renewal races us)."""
    while True:
        lease = await client.get(Lease, LEASE, namespace)
        assert lease.spec is not None
        now = datetime.now(UTC)
        lease.spec = LeaseSpec(
            holderIdentity="intruder",
            leaseDurationSeconds=3600,
            acquireTime=now,
            renewTime=now,
            leaseTransitions=(lease.spec.leaseTransitions or 0) + 1,
        )
        try:
            await client.update(lease)
            return
        except errors.Conflict:
            continue  # the holder renewed in between: read again


def log_events(log: str) -> list[str]:
    events = []
    for line in log.splitlines():
        try:
            events.append(str(json.loads(line).get("event", "")))
        except ValueError:
            events.append(line)
    return events


def spawn_leader(kubeconfig: Path, workdir: Path, namespace: str) -> KubeweftProcess:
    env = {
        "KUBEWEFT_LEADER_ELECTION": "true",
        "KUBEWEFT_LEADER_ELECTION_ID": LEASE,
        "KUBEWEFT_LEADER_ELECTION_NAMESPACE": namespace,
        "KUBEWEFT_WATCH_NAMESPACE": namespace,
        "KUBEWEFT_LEASE_DURATION_SECONDS": "4",
        "KUBEWEFT_RENEW_DEADLINE_SECONDS": "3",
        "KUBEWEFT_RETRY_PERIOD_SECONDS": "0.5",
    }
    return spawn(kubeconfig, workdir, "--no-install-crds", env=env)


async def lead_and_reconcile(process: KubeweftProcess, client: Client, namespace: str) -> str:
    """Wait until ``process`` holds the Lease and has reconciled a WebApp; its identity."""
    await anyio.to_thread.run_sync(process.wait_ready)
    leader = await wait_until_async(
        lambda: holder(client, namespace),
        what="the process to hold the Lease",
        retry_on=(errors.NotFound,),
    )
    await client.create(
        WebApp.model_validate(
            {"metadata": {"name": "web", "namespace": namespace}, "spec": {"image": "nginx:1"}}
        )
    )
    await wait_until_async(
        lambda: client.get(Deployment, "web", namespace),
        what="the leader to reconcile the WebApp",
        retry_on=(errors.NotFound,),
    )
    return str(leader)


async def holder(client: Client, namespace: str) -> str | None:
    lease = await client.get(Lease, LEASE, namespace)
    return lease.spec.holderIdentity if lease.spec else None


async def assert_exited_after_losing(process: KubeweftProcess, reason: str) -> None:
    code = await anyio.to_thread.run_sync(process.popen.wait, 60.0)
    assert code != 0
    events = log_events(process.log())
    lost = [i for i, event in enumerate(events) if "lost lease" in event]
    assert lost
    assert reason in events[lost[0]]
    after = events[lost[0] :]
    assert "workers stopped" in after  # the controller was stopped, not left running
    assert not [e for e in after if e in ("reconciled", "starting workers")]


async def test_process_exits_non_zero_when_its_lease_is_taken(
    local_cluster: ClusterAccess, webapp_crd: str, client: Client, namespace: str, tmp_path: Path
) -> None:
    process = spawn_leader(local_cluster.kubeconfig_path, tmp_path, namespace)
    try:
        leader = await lead_and_reconcile(process, client, namespace)
        await take_lease(client, namespace)
        await assert_exited_after_losing(process, "held by intruder")
        assert leader != "intruder"
        # Not overwritten, nor released, on the way out.
        assert await holder(client, namespace) == "intruder"
    except BaseException:
        print(process.log_tail())
        raise
    finally:
        process.stop()


async def test_process_exits_non_zero_when_the_api_server_stops_answering(
    local_cluster: ClusterAccess, webapp_crd: str, client: Client, namespace: str, tmp_path: Path
) -> None:
    server = urlsplit(local_cluster.server)
    proxy = DelayingProxy(server.hostname or "127.0.0.1", server.port or 443)
    async with anyio.create_task_group() as tg:
        await tg.start(proxy.run)
        kubeconfig = kubeconfig_via(local_cluster.kubeconfig_path, proxy, tmp_path / "kubeconfig")
        process = spawn_leader(kubeconfig, tmp_path, namespace)
        try:
            leader = await lead_and_reconcile(process, client, namespace)
            proxy.delay = math.inf  # requests still reach the server; no answer comes back
            await assert_exited_after_losing(process, "renew deadline passed")
            # The last renewal the server stored still names it; a standby takes over
            # once the Lease expires.
            assert await holder(client, namespace) == leader
        except BaseException:
            print(process.log_tail())
            raise
        finally:
            process.stop()
            tg.cancel_scope.cancel()
