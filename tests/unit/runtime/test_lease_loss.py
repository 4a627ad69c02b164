"""Losing the Lease stops reconciling at once — also in the middle of a graceful drain.

A replica shutting down drains in-flight reconciles while it still holds the Lease. If
the Lease is lost meanwhile, another replica may already be reconciling the same
objects: the drain must end there, with the in-flight reconciles cancelled and no new
ones started. The elector is the in-memory fake of ``test_manager``; the real elector's
deadline path is tested against the API server in tests/integration/runtime.
"""

from __future__ import annotations

import anyio
import pytest
from anyio.abc import TaskStatus

from kubeweft.runtime.leaderelection import LeaderElectionLost
from kubeweft.runtime.manager import Manager, ManagerOptions
from kubeweft.runtime.reconcile import Request
from tests.unit.runtime.test_manager import FakeCache, FakeElector, blocking_controller

pytestmark = pytest.mark.anyio


async def test_lease_lost_during_graceful_drain_cancels_in_flight_reconciles() -> None:
    log: list[str] = []
    cache, elector = FakeCache(log), FakeElector(log)
    cache.sync.set()
    elector.elected.set()
    release, entered = anyio.Event(), anyio.Event()
    controller, source = blocking_controller(log, release, entered)
    manager = Manager(None, cache, ManagerOptions(graceful_shutdown_timeout=3600), elector=elector)
    manager.add(controller)
    scope = anyio.CancelScope()

    async def run_manager(*, task_status: TaskStatus[None]) -> None:
        with scope:
            await manager.run(task_status=task_status)

    async def shut_down_then_lose_the_lease() -> None:
        async with anyio.create_task_group() as tg:
            await tg.start(run_manager)
            await anyio.wait_all_tasks_blocked()
            assert source.queue is not None
            source.queue.add(Request("ns", "a"))
            await entered.wait()
            try:
                scope.cancel()  # graceful shutdown: the drain begins, the Lease still held
                await anyio.wait_all_tasks_blocked()
                assert "reconcile a: cancelled" not in log  # draining, not cancelled
                source.queue.add(Request("ns", "b"))  # arrives during the drain
                elector.lose.set()
                await anyio.wait_all_tasks_blocked()
                assert "reconcile a: cancelled" in log  # the drain ended with the Lease
            finally:
                release.set()  # too late if the drain ended: nothing may finish now

    with pytest.raises(BaseExceptionGroup) as caught:
        await shut_down_then_lose_the_lease()
    assert caught.group_contains(LeaderElectionLost)
    assert "reconcile a: end" not in log
    assert not any(entry.startswith("reconcile b") for entry in log)
    assert manager.leader_state == "lost"
