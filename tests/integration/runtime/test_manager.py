"""Two managers with leader election on a real Lease: only the leader reconciles; when
it shuts down cleanly it releases the Lease and the standby takes over at once."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest
from lightkube.resources.core_v1 import ConfigMap

from kubeweft.localcluster.access import ClusterAccess
from kubeweft.runtime.client import Client
from kubeweft.runtime.manager import Manager, ManagerOptions
from tests.integration.runtime.test_controller import (
    CopyReconciler,
    copy_data,
    source_cm,
    start_manager,
)
from tests.support.waiting import wait_until_async

pytestmark = [pytest.mark.localcluster, pytest.mark.anyio]


@pytest.fixture
async def clients(local_cluster: ClusterAccess) -> AsyncIterator[tuple[Client, Client]]:
    async with (
        Client.from_kubeconfig(local_cluster.kubeconfig_path) as a,
        Client.from_kubeconfig(local_cluster.kubeconfig_path) as b,
    ):
        yield a, b


def election(namespace: str, identity: str) -> ManagerOptions:
    return ManagerOptions(
        leader_election=True,
        leader_election_id="it-manager",
        leader_election_namespace=namespace,
        leader_election_identity=identity,
        # Long enough that a slow API server on a loaded machine does not end the first
        # leadership early (the handover releases the Lease: no expiry is waited out).
        lease_duration=6.0,
        renew_deadline=4.0,
        retry_period=0.5,
        graceful_shutdown_timeout=10.0,
    )


async def test_only_the_leader_reconciles_and_the_standby_takes_over(
    clients: tuple[Client, Client], namespace: str
) -> None:
    managers: dict[str, tuple[Manager, CopyReconciler]] = {}
    for identity, client in zip(("a", "b"), clients, strict=True):
        manager, reconciler, _ = start_manager(
            client, namespace, election(namespace, identity), identity
        )
        managers[identity] = (manager, reconciler)
    client = clients[0]
    scopes = {identity: anyio.CancelScope() for identity in managers}

    async def leader() -> str | None:
        leading = [i for i, (m, _) in managers.items() if m.leader_state == "leader"]
        return leading[0] if leading else None

    async with anyio.create_task_group() as tg:
        for identity, (manager, _) in managers.items():

            async def run(
                manager: Manager = manager,
                scope: anyio.CancelScope = scopes[identity],
                *,
                task_status: anyio.abc.TaskStatus[None],
            ) -> None:
                with scope:
                    await manager.run(task_status=task_status)

            await tg.start(run)
        # Both are ready: the leader and the standby alike serve (readyz passes).
        for manager, _ in managers.values():
            assert (await manager.check_ready()).ok

        first = await wait_until_async(leader, what="a leader elected")
        second = "b" if first == "a" else "a"
        assert managers[second][0].leader_state == "standby"

        await source_cm(client, namespace, "one", {"n": "1"})

        async def one_copied() -> bool:
            return await copy_data(client, namespace, "one") == {"n": "1"}

        await wait_until_async(one_copied, what="copy of one")
        copy = await client.get(ConfigMap, "one-copy", namespace)
        assert copy.metadata is not None
        assert (copy.metadata.annotations or {})["reconciled-by"] == first
        assert managers[second][1].requests == []  # the standby's controller never ran

        # Clean shutdown of the leader: drains, releases the Lease; the standby leads.
        scopes[first].cancel()

        async def second_leads() -> bool:
            return managers[second][0].leader_state == "leader"

        await wait_until_async(second_leads, what="standby took over")
        await source_cm(client, namespace, "two", {"n": "2"})

        async def two_copied() -> bool:
            return await copy_data(client, namespace, "two") == {"n": "2"}

        await wait_until_async(two_copied, what="copy of two")
        copy = await client.get(ConfigMap, "two-copy", namespace)
        assert copy.metadata is not None
        assert (copy.metadata.annotations or {})["reconciled-by"] == second
        assert managers[first][0].leader_state == "stopped"
        assert all(r.namespace == namespace for r in managers[first][1].requests)
        assert not any(r.name == "two" for r in managers[first][1].requests)
        tg.cancel_scope.cancel()
