"""Controller engine: result handling, worker survival, concurrency, sync, shutdown.

Keys are pushed by a fake source straight into the controller's queue; time-based
retries run on a fake clock so every assertion is about behaviour, not timing.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable

import anyio
import anyio.lowlevel
import pytest
from anyio.abc import TaskGroup

from kubeweft.runtime import metrics
from kubeweft.runtime.clock import FakeClock
from kubeweft.runtime.controller import CacheSyncTimeout, Controller, ControllerOptions
from kubeweft.runtime.errors import Conflict
from kubeweft.runtime.handler import RequestQueue
from kubeweft.runtime.ratelimiter import ItemExponentialFailureRateLimiter
from kubeweft.runtime.reconcile import Request, Result, TerminalError, reconciler_func

pytestmark = pytest.mark.anyio

_names = itertools.count()


class FakeSource:
    """Hands the controller's queue to the test; syncs when told to."""

    def __init__(self, synced: bool = True) -> None:
        self.queue: RequestQueue | None = None
        self.synced = anyio.Event()
        if synced:
            self.synced.set()

    async def start(self, queue: RequestQueue, task_group: TaskGroup) -> None:
        self.queue = queue

    async def wait_for_sync(self) -> None:
        await self.synced.wait()


def sample(name: str, controller: str, **labels: str) -> float:
    value = metrics.REGISTRY.get_sample_value(name, {"controller": controller, **labels})
    return value or 0.0


def make(
    fn: Callable[[Request], Awaitable[Result | None]], **options: object
) -> tuple[Controller, FakeClock]:
    clock = FakeClock()
    opts = ControllerOptions(
        rate_limiter=ItemExponentialFailureRateLimiter(base=1.0, cap=100.0),
        clock=clock,
        **options,  # type: ignore[arg-type]
    )
    controller = Controller(f"test-ctrl-{next(_names)}", reconciler_func(fn), opts)
    controller.watch(FakeSource())
    return controller, clock


async def noop(request: Request) -> Result:
    return Result()


A = Request("ns", "a")
B = Request("ns", "b")


async def test_success_forgets_and_counts() -> None:
    seen: list[Request] = []

    async def reconcile(request: Request) -> Result:
        seen.append(request)
        return Result()

    controller, _ = make(reconcile)
    async with anyio.create_task_group() as tg:
        await tg.start(controller.run)
        controller.queue.add(A)
        await anyio.wait_all_tasks_blocked()
        tg.cancel_scope.cancel()
    assert seen == [A]
    assert sample("controller_runtime_reconcile_total", controller.name, result="success") == 1
    assert controller.queue.num_requeues(A) == 0


async def test_error_is_retried_with_backoff_counted_and_worker_survives() -> None:
    attempts: list[Request] = []

    async def reconcile(request: Request) -> Result:
        attempts.append(request)
        if request == A and attempts.count(A) <= 2:
            raise Conflict(409, "Conflict", "the object has been modified")
        return Result()

    controller, clock = make(reconcile)
    async with anyio.create_task_group() as tg:
        await tg.start(controller.run)
        controller.queue.add(A)
        await anyio.wait_all_tasks_blocked()
        assert attempts == [A]
        assert controller.queue.delayed == 1  # parked for 1 s (the backoff base)
        controller.queue.add(B)  # the same single worker still serves other keys
        await anyio.wait_all_tasks_blocked()
        assert attempts == [A, B]
        clock.advance(1.0)
        await anyio.wait_all_tasks_blocked()
        assert attempts == [A, B, A]
        clock.advance(1.0)  # second backoff is 2 s: not yet
        await anyio.wait_all_tasks_blocked()
        assert attempts == [A, B, A]
        clock.advance(1.0)
        await anyio.wait_all_tasks_blocked()
        assert attempts == [A, B, A, A]
        tg.cancel_scope.cancel()
    name = controller.name
    assert sample("controller_runtime_reconcile_errors_total", name) == 2
    assert sample("controller_runtime_reconcile_total", name, result="error") == 2
    assert sample("controller_runtime_reconcile_total", name, result="success") == 2
    assert sample("controller_runtime_reconcile_panics_total", name) == 0
    assert controller.queue.num_requeues(A) == 0  # success forgot the backoff


async def test_unexpected_exception_counts_as_panic_and_is_retried() -> None:
    calls = 0

    async def reconcile(request: Request) -> Result:
        nonlocal calls
        calls += 1
        raise KeyError("bug")

    controller, clock = make(reconcile)
    async with anyio.create_task_group() as tg:
        await tg.start(controller.run)
        controller.queue.add(A)
        await anyio.wait_all_tasks_blocked()
        clock.advance(1.0)
        await anyio.wait_all_tasks_blocked()
        tg.cancel_scope.cancel()
    assert calls == 2
    assert sample("controller_runtime_reconcile_panics_total", controller.name) == 2


async def test_recover_panic_false_lets_the_bug_stop_the_controller() -> None:
    async def reconcile(request: Request) -> Result:
        raise KeyError("bug")

    controller, _ = make(reconcile, recover_panic=False)

    async def run_until_crash() -> None:
        async with anyio.create_task_group() as tg:
            await tg.start(controller.run)
            controller.queue.add(A)

    with pytest.raises(BaseExceptionGroup) as caught:
        await run_until_crash()
    assert caught.group_contains(KeyError)


async def test_terminal_error_is_counted_and_not_retried() -> None:
    calls = 0

    async def reconcile(request: Request) -> Result:
        nonlocal calls
        calls += 1
        raise TerminalError("spec can never work")

    controller, clock = make(reconcile)
    async with anyio.create_task_group() as tg:
        await tg.start(controller.run)
        controller.queue.add(A)
        await anyio.wait_all_tasks_blocked()
        clock.advance(1000.0)
        await anyio.wait_all_tasks_blocked()
        assert controller.queue.delayed == 0
        assert len(controller.queue) == 0
        tg.cancel_scope.cancel()
    assert calls == 1
    name = controller.name
    assert sample("controller_runtime_terminal_reconcile_errors_total", name) == 1
    assert sample("controller_runtime_reconcile_errors_total", name) == 1


async def test_requeue_after_forgets_backoff_and_waits_the_delay() -> None:
    calls = 0

    async def reconcile(request: Request) -> Result:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise Conflict(409, "Conflict")
        return Result(requeue_after=30.0)

    controller, clock = make(reconcile)
    async with anyio.create_task_group() as tg:
        await tg.start(controller.run)
        controller.queue.add(A)
        await anyio.wait_all_tasks_blocked()
        assert controller.queue.num_requeues(A) == 1
        clock.advance(1.0)
        await anyio.wait_all_tasks_blocked()
        assert calls == 2
        assert controller.queue.num_requeues(A) == 0
        clock.advance(29.0)
        await anyio.wait_all_tasks_blocked()
        assert calls == 2
        clock.advance(1.0)
        await anyio.wait_all_tasks_blocked()
        assert calls == 3
        tg.cancel_scope.cancel()
    assert (
        sample("controller_runtime_reconcile_total", controller.name, result="requeue_after") == 2
    )


async def test_requeue_true_uses_the_rate_limiter() -> None:
    calls = 0

    async def reconcile(request: Request) -> Result:
        nonlocal calls
        calls += 1
        return Result(requeue=True)

    controller, clock = make(reconcile)
    async with anyio.create_task_group() as tg:
        await tg.start(controller.run)
        controller.queue.add(A)
        await anyio.wait_all_tasks_blocked()
        clock.advance(1.0)
        await anyio.wait_all_tasks_blocked()
        clock.advance(2.0)
        await anyio.wait_all_tasks_blocked()
        tg.cancel_scope.cancel()
    assert calls == 3
    assert controller.queue.num_requeues(A) == 3
    assert sample("controller_runtime_reconcile_total", controller.name, result="requeue") == 3


async def test_reconcile_timeout_cancels_and_retries_as_error() -> None:
    calls = 0
    timed_out = anyio.Event()

    async def reconcile(request: Request) -> Result:
        nonlocal calls
        calls += 1
        if calls == 1:
            try:
                await anyio.sleep_forever()
            finally:
                timed_out.set()
        return Result()

    # The timeout is real time (anyio's deadline), the retry delay is the fake clock.
    controller, clock = make(reconcile, reconcile_timeout=0.01)
    async with anyio.create_task_group() as tg:
        await tg.start(controller.run)
        controller.queue.add(A)
        await timed_out.wait()
        await anyio.wait_all_tasks_blocked()  # the worker parks on the fake clock
        assert controller.queue.delayed == 1
        clock.advance(1.0)
        await anyio.wait_all_tasks_blocked()
        tg.cancel_scope.cancel()
    assert calls == 2
    assert sample("controller_runtime_reconcile_errors_total", controller.name) == 1
    assert sample("controller_runtime_reconcile_timeouts_total", controller.name) == 1


async def test_workers_run_concurrently_but_never_on_the_same_key() -> None:
    release = anyio.Event()
    running: list[Request] = []
    peak = 0

    async def reconcile(request: Request) -> Result:
        nonlocal peak
        assert request not in running
        running.append(request)
        peak = max(peak, len(running))
        await release.wait()
        running.remove(request)
        return Result()

    controller, _ = make(reconcile, max_concurrent_reconciles=3)
    keys = [Request("ns", f"k{i}") for i in range(5)]
    async with anyio.create_task_group() as tg:
        await tg.start(controller.run)
        for key in keys:
            controller.queue.add(key)
        await anyio.wait_all_tasks_blocked()
        controller.queue.add(keys[0])  # again, while it is being reconciled
        assert len(running) == 3
        assert sample("controller_runtime_active_workers", controller.name) == 3
        assert sample("controller_runtime_max_concurrent_reconciles", controller.name) == 3
        release.set()
        await anyio.wait_all_tasks_blocked()
        tg.cancel_scope.cancel()
    assert peak == 3
    assert sample("controller_runtime_reconcile_total", controller.name, result="success") == 6


async def test_workers_wait_for_cache_sync() -> None:
    seen: list[Request] = []

    async def reconcile(request: Request) -> Result:
        seen.append(request)
        return Result()

    controller = Controller(f"test-ctrl-{next(_names)}", reconciler_func(reconcile))
    source = FakeSource(synced=False)
    controller.watch(source)
    started = False
    async with anyio.create_task_group() as tg:

        async def run() -> None:
            nonlocal started
            await tg.start(controller.run)
            started = True

        tg.start_soon(run)
        await anyio.wait_all_tasks_blocked()
        assert source.queue is not None
        source.queue.add(A)  # e.g. from the initial list, before sync completes
        await anyio.wait_all_tasks_blocked()
        assert (started, seen) == (False, [])
        source.synced.set()
        await anyio.wait_all_tasks_blocked()
        assert (started, seen) == (True, [A])
        tg.cancel_scope.cancel()


async def test_cache_sync_timeout_fails_the_controller() -> None:
    controller = Controller(
        f"test-ctrl-{next(_names)}",
        reconciler_func(noop),
        ControllerOptions(cache_sync_timeout=0.01),
    )
    controller.watch(FakeSource(synced=False))
    with pytest.raises(CacheSyncTimeout):
        await controller.run()


async def test_shutdown_lets_in_flight_reconciles_finish_and_takes_no_new_keys() -> None:
    entered = anyio.Event()
    release = anyio.Event()
    finished: list[Request] = []

    async def reconcile(request: Request) -> Result:
        entered.set()
        await release.wait()  # not cancelled by the shutdown
        finished.append(request)
        return Result()

    controller, _ = make(reconcile, drain_timeout=60.0)
    run_scope = anyio.CancelScope()

    async def run_controller(*, task_status: anyio.abc.TaskStatus[None]) -> None:
        with run_scope:
            await controller.run(task_status=task_status)

    async with anyio.create_task_group() as tg:
        await tg.start(run_controller)
        controller.queue.add(A)
        controller.queue.add(B)  # queued behind A; must not start after shutdown
        await entered.wait()
        run_scope.cancel()  # shutdown begins
        await anyio.wait_all_tasks_blocked()
        assert controller.queue.shutting_down
        assert finished == []  # still in flight, not cancelled
        release.set()
    assert finished == [A]
    assert controller.queue.processing == 0


async def test_drain_timeout_cancels_stuck_reconciles() -> None:
    cancelled = False

    async def reconcile(request: Request) -> Result:
        nonlocal cancelled
        try:
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            cancelled = True
            raise
        return Result()

    controller, _ = make(reconcile, drain_timeout=0.01)
    async with anyio.create_task_group() as tg:
        await tg.start(controller.run)
        controller.queue.add(A)
        await anyio.wait_all_tasks_blocked()
        tg.cancel_scope.cancel()
    assert cancelled
    assert controller.queue.processing == 0


async def test_stop_makes_run_return() -> None:
    controller, _ = make(noop)
    async with anyio.create_task_group() as tg:
        await tg.start(controller.run)
        controller.stop()
    assert controller.queue.shutting_down
