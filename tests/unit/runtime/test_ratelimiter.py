"""Rate limiters: client-go's delay arithmetic, driven by a fake clock."""

from __future__ import annotations

import pytest

from kubeweft.runtime.clock import FakeClock
from kubeweft.runtime.ratelimiter import (
    BucketRateLimiter,
    ItemExponentialFailureRateLimiter,
    MaxOfRateLimiter,
    default_controller_rate_limiter,
)


def test_exponential_doubles_per_failure_from_5ms() -> None:
    limiter = ItemExponentialFailureRateLimiter()
    assert [limiter.when("a") for _ in range(5)] == pytest.approx([0.005, 0.01, 0.02, 0.04, 0.08])
    assert limiter.num_requeues("a") == 5
    assert limiter.when("b") == pytest.approx(0.005)  # per item


def test_exponential_caps_at_1000s_and_survives_huge_failure_counts() -> None:
    limiter = ItemExponentialFailureRateLimiter()
    delays = [limiter.when("a") for _ in range(2000)]
    assert max(delays) == 1000.0
    assert delays[18] == 1000.0  # 0.005 * 2**18 = 1310.72 s would exceed the cap
    assert delays[17] == pytest.approx(655.36)
    assert delays[-1] == 1000.0


def test_exponential_forget_restarts_from_base() -> None:
    limiter = ItemExponentialFailureRateLimiter(base=1.0, cap=10.0)
    assert [limiter.when("a") for _ in range(6)] == [1, 2, 4, 8, 10, 10]
    limiter.forget("a")
    assert limiter.num_requeues("a") == 0
    assert limiter.when("a") == 1


def test_bucket_allows_burst_then_spaces_at_qps() -> None:
    clock = FakeClock()
    bucket = BucketRateLimiter(qps=10, burst=100, clock=clock)
    assert [bucket.when(i) for i in range(100)] == [0.0] * 100
    assert bucket.when("x") == pytest.approx(0.1)
    assert bucket.when("y") == pytest.approx(0.2)  # reservations queue up behind each other
    clock.advance(1.0)  # repays the 0.2 s of debt and refills 8 tokens
    assert [bucket.when(i) for i in range(8)] == [0.0] * 8
    assert bucket.when("z") == pytest.approx(0.1)


def test_bucket_refill_is_capped_by_burst() -> None:
    clock = FakeClock()
    bucket = BucketRateLimiter(qps=1, burst=2, clock=clock)
    clock.advance(3600)
    assert [bucket.when(i) for i in range(3)] == pytest.approx([0.0, 0.0, 1.0])


def test_max_of_takes_the_longest_and_records_in_all() -> None:
    clock = FakeClock()
    limiter = default_controller_rate_limiter(qps=1, burst=1, clock=clock)
    assert limiter.when("a") == pytest.approx(0.005)  # token available; backoff 5 ms
    assert limiter.when("a") == pytest.approx(1.0)  # bucket empty: 1 s beats 10 ms
    assert limiter.num_requeues("a") == 2
    limiter.forget("a")
    assert limiter.num_requeues("a") == 0


def test_max_of_needs_a_limiter() -> None:
    with pytest.raises(ValueError, match="at least one"):
        MaxOfRateLimiter()
