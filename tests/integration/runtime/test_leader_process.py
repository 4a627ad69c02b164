"""The real elector's renew-deadline path in a real process: ``kubeweft run`` with leader
election leads a namespace on the local control plane until the test writes another
holder into its Lease. It must stop its controllers, exit non-zero (so the kubelet
restarts it as a standby), leave the new holder's Lease alone, and log no reconcile
after the loss."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import anyio
import pytest
from lightkube.models.coordination_v1 import LeaseSpec
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.coordination_v1 import Lease

from kubeweft.api.v1alpha1 import WebApp
from kubeweft.localcluster.access import ClusterAccess
from kubeweft.runtime import errors
from kubeweft.runtime.client import Client
from tests.support.process import spawn
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
            continue


def log_events(log: str) -> list[str]:
    events = []
    for line in log.splitlines():
        try:
            events.append(str(json.loads(line).get("event", "")))
        except ValueError:
            events.append(line)
    return events


async def test_process_exits_non_zero_when_its_lease_is_taken(
    local_cluster: ClusterAccess, webapp_crd: str, client: Client, namespace: str, tmp_path: Path
) -> None:
    env = {
        "KUBEWEFT_LEADER_ELECTION": "true",
        "KUBEWEFT_LEADER_ELECTION_ID": LEASE,
        "KUBEWEFT_LEADER_ELECTION_NAMESPACE": namespace,
        "KUBEWEFT_WATCH_NAMESPACE": namespace,
        "KUBEWEFT_LEASE_DURATION_SECONDS": "4",
        "KUBEWEFT_RENEW_DEADLINE_SECONDS": "3",
        "KUBEWEFT_RETRY_PERIOD_SECONDS": "0.5",
    }
    process = spawn(local_cluster.kubeconfig_path, tmp_path, "--no-install-crds", env=env)
    try:
        await anyio.to_thread.run_sync(process.wait_ready)

        async def holder() -> str | None:
            lease = await client.get(Lease, LEASE, namespace)
            return lease.spec.holderIdentity if lease.spec else None

        leader = await wait_until_async(
            holder, what="the process to hold the Lease", retry_on=(errors.NotFound,)
        )
        # It leads: a WebApp gets its Deployment.
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

        await take_lease(client, namespace)
        code = await anyio.to_thread.run_sync(process.popen.wait, 60.0)
        assert code != 0, process.log_tail()
        assert await holder() == "intruder"  # not overwritten nor released on the way out
        assert leader != "intruder"
        events = log_events(process.log())
        lost = [i for i, event in enumerate(events) if "lost lease" in event]
        assert lost, process.log_tail()
        after = events[lost[0] :]
        assert "workers stopped" in after  # the controller was stopped, not left running
        assert not [e for e in after if e in ("reconciled", "starting workers")]
    except BaseException:
        print(process.log_tail())
        raise
    finally:
        process.stop()
