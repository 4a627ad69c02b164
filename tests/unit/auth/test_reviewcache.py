"""ReviewCache: TTL by answer, coalescing of identical questions, errors never cached."""

from __future__ import annotations

import anyio
import pytest

from kubeweft.auth.reviewcache import ReviewCache
from kubeweft.runtime.clock import FakeClock

pytestmark = pytest.mark.anyio


def _ttl(answer: bool) -> float:
    return 10.0 if answer else 2.0


async def test_answer_kept_for_its_ttl(clock: FakeClock) -> None:
    cache: ReviewCache[str, bool] = ReviewCache(_ttl, clock=clock)
    calls = 0

    async def review() -> bool:
        nonlocal calls
        calls += 1
        return True

    assert await cache.get("k", review) is True
    clock.advance(9.9)
    assert await cache.get("k", review) is True
    assert calls == 1
    clock.advance(0.2)
    await cache.get("k", review)
    assert calls == 2
    assert cache.stats.hits == 1
    assert cache.stats.reviews == 2


async def test_denial_expires_sooner_than_allow(clock: FakeClock) -> None:
    cache: ReviewCache[str, bool] = ReviewCache(_ttl, clock=clock)
    answers = {"allow": True, "deny": False}

    async def ask(key: str) -> bool:
        return await cache.get(key, lambda: _answer(answers[key]))

    await ask("allow")
    await ask("deny")
    clock.advance(2.5)
    await ask("allow")
    await ask("deny")
    assert cache.stats.reviews == 3  # the denial was asked again, the allow was not


async def _answer(value: bool) -> bool:
    return value


async def test_zero_ttl_is_not_cached(clock: FakeClock) -> None:
    cache: ReviewCache[str, bool] = ReviewCache(lambda _: 0.0, clock=clock)
    await cache.get("k", lambda: _answer(True))
    await cache.get("k", lambda: _answer(True))
    assert cache.stats.reviews == 2
    assert len(cache) == 0


async def test_concurrent_identical_questions_share_one_review(clock: FakeClock) -> None:
    cache: ReviewCache[str, bool] = ReviewCache(_ttl, clock=clock)
    release = anyio.Event()
    results: list[bool] = []

    async def slow_review() -> bool:
        await release.wait()
        return True

    async def ask() -> None:
        results.append(await cache.get("k", slow_review))

    async with anyio.create_task_group() as group:
        for _ in range(20):
            group.start_soon(ask)
        await anyio.wait_all_tasks_blocked()
        release.set()
    assert results == [True] * 20
    assert cache.stats.reviews == 1
    assert cache.stats.coalesced == 19


async def test_error_is_shared_with_waiters_and_not_cached(clock: FakeClock) -> None:
    cache: ReviewCache[str, bool] = ReviewCache(_ttl, clock=clock)
    release = anyio.Event()

    async def failing() -> bool:
        await release.wait()
        raise RuntimeError("api server down")

    errors: list[BaseException] = []

    async def ask() -> None:
        try:
            await cache.get("k", failing)
        except RuntimeError as error:
            errors.append(error)

    async with anyio.create_task_group() as group:
        for _ in range(3):
            group.start_soon(ask)
        await anyio.wait_all_tasks_blocked()
        release.set()
    assert len(errors) == 3
    assert cache.stats.reviews == 1
    assert await cache.get("k", lambda: _answer(True)) is True  # asked again, now fine
    assert cache.stats.reviews == 2


async def test_waiter_takes_over_when_the_asker_is_cancelled(clock: FakeClock) -> None:
    cache: ReviewCache[str, bool] = ReviewCache(_ttl, clock=clock)
    never = anyio.Event()
    result: list[bool] = []

    async def hangs() -> bool:
        await never.wait()
        return False

    async with anyio.create_task_group() as group:
        asker = anyio.CancelScope()

        async def first() -> None:
            with asker:
                await cache.get("k", hangs)

        async def second() -> None:
            result.append(await cache.get("k", lambda: _answer(True)))

        group.start_soon(first)
        await anyio.wait_all_tasks_blocked()
        group.start_soon(second)
        await anyio.wait_all_tasks_blocked()
        asker.cancel()
    assert result == [True]
    assert cache.stats.reviews == 2


async def test_bounded_size_drops_oldest(clock: FakeClock) -> None:
    cache: ReviewCache[int, bool] = ReviewCache(_ttl, clock=clock, max_entries=3)
    for key in range(5):
        await cache.get(key, lambda: _answer(True))
    assert len(cache) == 3
    await cache.get(4, lambda: _answer(True))
    assert cache.stats.hits == 1
    await cache.get(0, lambda: _answer(True))
    assert cache.stats.reviews == 6  # key 0 had been dropped


async def test_full_cache_drops_the_least_recently_used(clock: FakeClock) -> None:
    """A stream of new keys evicts cold answers, not the ones callers keep using."""
    cache: ReviewCache[int, bool] = ReviewCache(_ttl, clock=clock, max_entries=3)
    await cache.get(0, lambda: _answer(True))
    for key in range(1, 10):
        await cache.get(0, lambda: _answer(True))  # key 0 stays hot
        await cache.get(key, lambda: _answer(True))
    assert len(cache) == 3
    reviews = cache.stats.reviews
    await cache.get(0, lambda: _answer(True))
    assert cache.stats.reviews == reviews  # still cached
