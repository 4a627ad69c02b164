"""Work queue: client-go semantics, with time driven by a fake clock (no sleeps)."""

from __future__ import annotations

import random

import anyio
import pytest

from kubeweft.runtime import metrics
from kubeweft.runtime.clock import FakeClock
from kubeweft.runtime.ratelimiter import ItemExponentialFailureRateLimiter
from kubeweft.runtime.workqueue import QueueShutDown, RateLimitingQueue

pytestmark = pytest.mark.anyio


def make_queue(name: str = "", clock: FakeClock | None = None) -> RateLimitingQueue[str]:
    clock = clock or FakeClock()
    return RateLimitingQueue(
        name, rate_limiter=ItemExponentialFailureRateLimiter(base=1.0, cap=60.0), clock=clock
    )


async def test_add_of_a_queued_key_is_a_no_op() -> None:
    queue = make_queue()
    for key in ("a", "b", "a", "a", "b"):
        queue.add(key)
    assert len(queue) == 2
    assert [await queue.get(), await queue.get()] == ["a", "b"]
    assert len(queue) == 0


async def test_key_added_while_processing_is_held_until_done() -> None:
    queue = make_queue()
    queue.add("a")
    assert await queue.get() == "a"
    queue.add("a")
    queue.add("a")
    assert len(queue) == 0  # not handed to anyone while "a" is processing
    queue.add("b")
    assert await queue.get() == "b"
    queue.done("a")
    assert len(queue) == 1  # re-queued exactly once
    assert await queue.get() == "a"
    queue.done("a")
    queue.done("b")
    assert len(queue) == 0


async def test_done_without_readd_does_not_requeue() -> None:
    queue = make_queue()
    queue.add("a")
    await queue.get()
    queue.done("a")
    queue.done("a")  # a second done is ignored, as in client-go
    assert len(queue) == 0
    assert queue.processing == 0


async def test_many_workers_never_process_one_key_concurrently() -> None:
    queue = make_queue()
    keys = [f"k{i}" for i in range(5)]
    in_flight: set[str] = set()
    violations: list[str] = []
    processed: list[str] = []
    rng = random.Random(7)

    async def worker() -> None:
        while True:
            try:
                key = await queue.get()
            except QueueShutDown:
                return
            if key in in_flight:
                violations.append(key)
            in_flight.add(key)
            for _ in range(rng.randint(0, 3)):
                await anyio.lowlevel.checkpoint()
                queue.add(rng.choice(keys))  # events arriving during reconciles
            in_flight.discard(key)
            processed.append(key)
            queue.done(key)

    async with anyio.create_task_group() as tg:
        for _ in range(8):
            tg.start_soon(worker)
        for _ in range(300):
            queue.add(rng.choice(keys))
            await anyio.lowlevel.checkpoint()
        await anyio.wait_all_tasks_blocked()
        await queue.shut_down_with_drain()
    assert violations == []
    assert set(processed) == set(keys)
    assert len(queue) == 0


async def test_waiting_get_wakes_on_add() -> None:
    queue = make_queue()
    got: list[str] = []
    async with anyio.create_task_group() as tg:

        async def take() -> None:
            got.append(await queue.get())

        tg.start_soon(take)
        await anyio.wait_all_tasks_blocked()
        assert got == []
        queue.add("x")
    assert got == ["x"]


async def test_add_after_orders_by_deadline_and_earliest_wins() -> None:
    clock = FakeClock()
    queue = make_queue(clock=clock)
    queue.add_after("late", 3.0)
    queue.add_after("early", 1.0)
    queue.add_after("late", 2.0)  # earlier deadline replaces 3.0
    queue.add_after("early", 5.0)  # later deadline is ignored
    assert queue.delayed == 2
    clock.advance(1.0)
    assert len(queue) == 1
    assert await queue.get() == "early"
    clock.advance(0.9)
    assert len(queue) == 0
    clock.advance(0.1)
    assert await queue.get() == "late"
    clock.advance(10.0)
    assert len(queue) == 0
    assert queue.delayed == 0


async def test_add_after_non_positive_delay_adds_now() -> None:
    queue = make_queue()
    queue.add_after("a", 0)
    assert len(queue) == 1


async def test_waiting_get_wakes_at_the_deadline() -> None:
    clock = FakeClock()
    queue = make_queue(clock=clock)
    got: list[str] = []
    async with anyio.create_task_group() as tg:

        async def take() -> None:
            got.append(await queue.get())

        tg.start_soon(take)
        await anyio.wait_all_tasks_blocked()
        queue.add_after("a", 10.0)  # a getter already waits: it must re-arm its timer
        await anyio.wait_all_tasks_blocked()
        clock.advance(9.0)
        await anyio.wait_all_tasks_blocked()
        assert got == []
        clock.advance(1.0)
    assert got == ["a"]


async def test_add_rate_limited_backs_off_exponentially_until_forget() -> None:
    clock = FakeClock()
    queue = make_queue("wq-test-backoff", clock=clock)
    retries_before = metrics.REGISTRY.get_sample_value(
        "workqueue_retries_total", {"name": "wq-test-backoff"}
    )
    for expected_delay in (1.0, 2.0, 4.0):
        queue.add_rate_limited("a")
        clock.advance(expected_delay - 0.5)
        assert len(queue) == 0
        clock.advance(0.5)
        assert len(queue) == 1
        assert await queue.get() == "a"
        queue.done("a")
    assert queue.num_requeues("a") == 3
    queue.forget("a")
    assert queue.num_requeues("a") == 0
    queue.add_rate_limited("a")
    clock.advance(1.0)
    assert await queue.get() == "a"
    retries_after = metrics.REGISTRY.get_sample_value(
        "workqueue_retries_total", {"name": "wq-test-backoff"}
    )
    assert retries_after == (retries_before or 0) + 4


async def test_low_priority_keys_wait_behind_normal_ones() -> None:
    queue = make_queue()
    queue.add("initial-1", low_priority=True)
    queue.add("initial-2", low_priority=True)
    queue.add("changed")
    queue.add("initial-2")  # a real change to a key the initial list queued: raised
    queue.add("changed", low_priority=True)  # never lowers a normal key
    assert len(queue) == 3
    assert [await queue.get() for _ in range(3)] == ["changed", "initial-2", "initial-1"]


async def test_shut_down_stops_intake_but_hands_out_queued_keys() -> None:
    clock = FakeClock()
    queue = make_queue(clock=clock)
    queue.add("a")
    queue.add_after("later", 1.0)
    queue.shut_down()
    queue.add("b")
    queue.add_after("c", 0.5)
    clock.advance(5.0)
    assert await queue.get() == "a"
    with pytest.raises(QueueShutDown):
        await queue.get()
    assert queue.delayed == 0


async def test_shut_down_wakes_waiting_getters() -> None:
    queue = make_queue()
    outcomes: list[str] = []

    async def take() -> None:
        try:
            await queue.get()
        except QueueShutDown:
            outcomes.append("shut down")

    async with anyio.create_task_group() as tg:
        tg.start_soon(take)
        tg.start_soon(take)
        await anyio.wait_all_tasks_blocked()
        queue.shut_down()
    assert outcomes == ["shut down", "shut down"]


async def test_shut_down_with_drain_waits_for_in_flight_keys() -> None:
    queue = make_queue()
    queue.add("a")
    key = await queue.get()
    drained = False
    async with anyio.create_task_group() as tg:

        async def drain() -> None:
            nonlocal drained
            await queue.shut_down_with_drain()
            drained = True

        tg.start_soon(drain)
        await anyio.wait_all_tasks_blocked()
        assert not drained
        queue.done(key)
    assert drained


async def test_named_queue_reports_adds_depth_and_durations() -> None:
    clock = FakeClock()
    queue = make_queue("wq-test-metrics", clock=clock)
    labels = {"name": "wq-test-metrics"}
    queue.add("a")
    queue.add("a")
    queue.add("b")
    assert metrics.REGISTRY.get_sample_value("workqueue_adds_total", labels) == 2
    assert metrics.REGISTRY.get_sample_value("workqueue_depth", labels) == 2
    clock.advance(2.0)
    await queue.get()
    clock.advance(3.0)
    assert metrics.REGISTRY.get_sample_value(
        "workqueue_longest_running_processor_seconds", labels
    ) == pytest.approx(3.0)
    queue.done("a")
    assert metrics.REGISTRY.get_sample_value(
        "workqueue_queue_duration_seconds_sum", labels
    ) == pytest.approx(2.0)
    assert metrics.REGISTRY.get_sample_value(
        "workqueue_work_duration_seconds_sum", labels
    ) == pytest.approx(3.0)
    assert metrics.REGISTRY.get_sample_value("workqueue_depth", labels) == 1
