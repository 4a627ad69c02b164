"""Manager: start order, leadership, health checks and ordered graceful shutdown.

The cache and the leader elector are in-memory fakes that log what happens, so the
tests can assert *order* (caches → servers/election → controllers; controllers drain
→ lease released → caches stop) without a cluster; the real ones are exercised in
tests/integration/runtime/test_manager.py.
"""

from __future__ import annotations

import itertools

import anyio
import pytest
from anyio.abc import TaskGroup, TaskStatus

from kubeweft.runtime.controller import Controller, ControllerOptions
from kubeweft.runtime.handler import RequestQueue
from kubeweft.runtime.leaderelection import LeaderElectionLost
from kubeweft.runtime.manager import Manager, ManagerOptions
from kubeweft.runtime.reconcile import Request, Result, reconciler_func
from kubeweft.runtime.runnable import RunnableFunc

pytestmark = pytest.mark.anyio
_names = itertools.count()


class FakeCache:
    def __init__(self, log: list[str]) -> None:
        self.log = log
        self.sync = anyio.Event()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        self.log.append("cache: started")
        await self.sync.wait()
        self.log.append("cache: synced")
        task_status.started()
        try:
            await anyio.sleep_forever()
        finally:
            self.log.append("cache: stopped")

    def has_synced(self) -> bool:
        return self.sync.is_set()


class FakeElector:
    def __init__(self, log: list[str]) -> None:
        self.log = log
        self.elected = anyio.Event()
        self.is_leader = False
        self.lose = anyio.Event()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        self.log.append("election: campaigning")
        task_status.started()
        try:
            await self.elected.wait()
            self.is_leader = True
            await self.lose.wait()
            self.log.append("election: lost")
            raise LeaderElectionLost("renew deadline passed")
        finally:
            if self.is_leader:
                self.log.append("election: released")


class FakeSource:
    def __init__(self) -> None:
        self.queue: RequestQueue | None = None

    async def start(self, queue: RequestQueue, task_group: TaskGroup) -> None:
        self.queue = queue

    async def wait_for_sync(self) -> None:
        pass


class LoggingServer:
    need_leader_election = False

    def __init__(self, log: list[str]) -> None:
        self.log = log

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        self.log.append("server: started")
        task_status.started()
        try:
            await anyio.sleep_forever()
        finally:
            self.log.append("server: stopped")


def blocking_controller(
    log: list[str], release: anyio.Event, entered: anyio.Event
) -> tuple[Controller, FakeSource]:
    async def reconcile(request: Request) -> Result:
        log.append(f"reconcile {request.name}: begin")
        entered.set()
        try:
            await release.wait()
        except anyio.get_cancelled_exc_class():
            log.append(f"reconcile {request.name}: cancelled")
            raise
        log.append(f"reconcile {request.name}: end")
        return Result()

    controller = Controller(
        f"test-mgr-{next(_names)}", reconciler_func(reconcile), ControllerOptions()
    )
    source = FakeSource()
    controller.watch(source)
    return controller, source


def started_controller_marker(log: list[str]) -> RunnableFunc:
    async def mark() -> None:
        log.append("controller: started")
        await anyio.sleep_forever()

    return RunnableFunc(mark, need_leader_election=True)


async def test_caches_then_servers_and_election_then_controllers_when_elected() -> None:
    log: list[str] = []
    cache, elector = FakeCache(log), FakeElector(log)
    manager = Manager(None, cache, ManagerOptions(), elector=elector)
    manager.add(started_controller_marker(log))
    manager.add(LoggingServer(log))
    async with anyio.create_task_group() as tg:
        tg.start_soon(manager.run)
        await anyio.wait_all_tasks_blocked()
        assert log == ["cache: started"]
        assert not (await manager.check_ready()).ok
        cache.sync.set()
        await anyio.wait_all_tasks_blocked()
        assert log[1:] == ["cache: synced", "server: started", "election: campaigning"]
        assert str(manager.leader_state) == "standby"
        assert (await manager.check_ready()).ok  # a synced standby is ready
        elector.elected.set()
        await anyio.wait_all_tasks_blocked()
        assert log[-1] == "controller: started"
        assert manager.leader_state == "leader"
        tg.cancel_scope.cancel()


async def test_without_leader_election_controllers_start_after_caches() -> None:
    log: list[str] = []
    cache = FakeCache(log)
    manager = Manager(None, cache)
    manager.add(started_controller_marker(log))
    async with anyio.create_task_group() as tg:
        tg.start_soon(manager.run)
        await anyio.wait_all_tasks_blocked()
        assert "controller: started" not in log
        cache.sync.set()
        await anyio.wait_all_tasks_blocked()
        assert log == ["cache: started", "cache: synced", "controller: started"]
        assert manager.leader_state == "disabled"
        assert manager.elected
        tg.cancel_scope.cancel()


async def test_shutdown_drains_reconciles_then_releases_lease_then_stops_caches() -> None:
    log: list[str] = []
    cache, elector = FakeCache(log), FakeElector(log)
    cache.sync.set()
    elector.elected.set()
    release, entered = anyio.Event(), anyio.Event()
    controller, source = blocking_controller(log, release, entered)
    manager = Manager(None, cache, ManagerOptions(graceful_shutdown_timeout=60), elector=elector)
    manager.add(controller)
    manager.add(LoggingServer(log))
    assert controller.drain_timeout == 60
    scope = anyio.CancelScope()

    async def run_manager(*, task_status: TaskStatus[None]) -> None:
        with scope:
            await manager.run(task_status=task_status)

    async with anyio.create_task_group() as tg:
        await tg.start(run_manager)
        await anyio.wait_all_tasks_blocked()
        assert source.queue is not None
        source.queue.add(Request("ns", "a"))
        await entered.wait()
        scope.cancel()
        await anyio.wait_all_tasks_blocked()
        assert "election: released" not in log  # lease held while draining
        assert "cache: stopped" not in log
        release.set()
    tail = [e for e in log if e.startswith(("reconcile a: end", "election: rel", "cache: stop"))]
    assert tail == ["reconcile a: end", "election: released", "cache: stopped"]
    assert "server: stopped" in log
    assert manager.leader_state == "stopped"
    assert not (await manager.check_health()).ok


async def test_lost_leadership_cancels_controllers_without_drain_and_fails_run() -> None:
    log: list[str] = []
    cache, elector = FakeCache(log), FakeElector(log)
    cache.sync.set()
    elector.elected.set()
    release, entered = anyio.Event(), anyio.Event()
    controller, source = blocking_controller(log, release, entered)
    manager = Manager(None, cache, elector=elector)
    manager.add(controller)

    async def run_until_lost() -> None:
        async with anyio.create_task_group() as tg:
            await tg.start(manager.run)
            await anyio.wait_all_tasks_blocked()
            assert source.queue is not None
            source.queue.add(Request("ns", "a"))
            await entered.wait()
            elector.lose.set()

    with pytest.raises(BaseExceptionGroup) as caught:
        await run_until_lost()
    assert caught.group_contains(LeaderElectionLost)
    assert "reconcile a: cancelled" in log
    assert manager.leader_state == "lost"
    ready = await manager.check_ready()
    assert ready.failures["leader-election"] == "leader election lost"


async def test_named_checks_report_which_failed() -> None:
    log: list[str] = []
    cache = FakeCache(log)
    manager = Manager(None, cache)

    async def database() -> None:
        raise RuntimeError("database unreachable")

    manager.add_readyz_check("database", database)
    manager.add_healthz_check("ping", lambda: None)
    ready = await manager.check_ready()
    assert ready.failures == {
        "cache-sync": "caches not synced",
        "database": "database unreachable",
    }
    assert ready.passed == ("leader-election",)
    health = await manager.check_health()
    assert health.failures == {"manager": "manager not running"}
    async with anyio.create_task_group() as tg:
        cache.sync.set()
        await tg.start(manager.run)
        assert (await manager.check_health()).ok
        assert (await manager.check_ready()).failures == {"database": "database unreachable"}
        tg.cancel_scope.cancel()
    with pytest.raises(ValueError, match="already added"):
        manager.add_readyz_check("database", database)


def test_leader_election_needs_an_id() -> None:
    with pytest.raises(ValueError, match="leader_election_id"):
        ManagerOptions(leader_election=True)
