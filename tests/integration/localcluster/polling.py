"""Waiting for the cluster to converge: poll a condition until a deadline, then fail
with the last observed value (never a fixed sleep)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(
    observe: Callable[[], T],
    accept: Callable[[T], bool],
    *,
    what: str,
    timeout: float = 60.0,
    interval: float = 0.25,
) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = observe()
        if accept(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached within {timeout:.0f}s; last: {value!r}")
        time.sleep(interval)
