"""Leader election between two electors on a real Lease."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest
from lightkube.resources.coordination_v1 import Lease

from kubeweft.localcluster.access import ClusterAccess
from kubeweft.runtime import metrics
from kubeweft.runtime.client import Client
from kubeweft.runtime.leaderelection import LeaderElectionOptions, LeaderElector

pytestmark = [pytest.mark.localcluster, pytest.mark.anyio]


@pytest.fixture
async def client(local_cluster: ClusterAccess) -> AsyncIterator[Client]:
    async with Client.from_kubeconfig(local_cluster.kubeconfig_path) as c:
        yield c


def options(namespace: str, identity: str, *, release: bool = True) -> LeaderElectionOptions:
    return LeaderElectionOptions(
        name="test-leader",
        namespace=namespace,
        identity=identity,
        # A leader steps down when no renew succeeds for renew_deadline: 4 s, so that an
        # API server slowed by a loaded machine does not end a leadership the test
        # expects to last (the expired case waits out lease_duration once).
        lease_duration=6.0,
        renew_deadline=4.0,
        retry_period=0.5,
        release_on_cancel=release,
    )


def master_status() -> float:
    value: float = metrics.LEADER_ELECTION_MASTER_STATUS.labels("test-leader")._value.get()
    return value


async def first_elected(a: LeaderElector, b: LeaderElector) -> LeaderElector:
    winner: list[LeaderElector] = []
    async with anyio.create_task_group() as group:
        for elector in (a, b):

            async def wait(e: LeaderElector = elector) -> None:
                await e.elected.wait()
                winner.append(e)
                group.cancel_scope.cancel()

            group.start_soon(wait)
    return winner[0]


@pytest.mark.parametrize("release", [True, False], ids=["released", "expired"])
async def test_one_leader_and_takeover(client: Client, namespace: str, release: bool) -> None:
    a = LeaderElector(client, options(namespace, "a", release=release))
    b = LeaderElector(client, options(namespace, "b", release=release))
    with anyio.fail_after(60):
        async with anyio.create_task_group() as outer:
            scopes: dict[str, anyio.CancelScope] = {}
            for elector in (a, b):

                async def run(e: LeaderElector = elector) -> None:
                    with anyio.CancelScope() as scope:
                        scopes[e.identity] = scope
                        await e.run()

                outer.start_soon(run)
            leader = await first_elected(a, b)
            standby = b if leader is a else a
            # Several renew periods later there is still exactly one leader.
            await anyio.sleep(2.0)
            assert leader.is_leader
            assert not standby.is_leader
            lease = await client.get(Lease, "test-leader", namespace)
            assert lease.spec is not None
            assert lease.spec.holderIdentity == leader.identity
            # Both electors share the gauge's label (one Lease); each set 0 when it
            # started, and only the leader has set it since.
            assert master_status() == 1

            scopes[leader.identity].cancel()  # the leader stops (releasing or not)
            await standby.elected.wait()
            assert not leader.is_leader
            assert master_status() == 1  # the old leader's 0, then the new leader's 1
            lease = await client.get(Lease, "test-leader", namespace)
            assert lease.spec is not None
            assert lease.spec.holderIdentity == standby.identity
            # Taking a released Lease (no holder) is no transition; taking one that
            # expired under another holder is.
            assert lease.spec.leaseTransitions == (0 if release else 1)
            outer.cancel_scope.cancel()
