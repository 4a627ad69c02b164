"""Waiting for another component to converge: poll until a deadline, then fail.

Integration and end-to-end tests watch something they do not control — the API
server, a ``kubeweft run`` subprocess, a database — so they poll it. Every poll here
ends at a deadline with an ``AssertionError`` naming what was awaited and the last
value seen, so a failure says where the system stopped, not just "timeout". Never a
fixed sleep in place of a condition.

* :func:`wait_until` — from a synchronous test (or a fixture);
* :func:`wait_until_async` — from an ``async`` test; ``check`` is a coroutine function.

``check`` returns a value; it is accepted when ``accept(value)`` holds (default: the
value is truthy) and then returned. Exceptions of the classes in ``retry_on`` count as
"not yet" (and are shown as the last value); any other exception fails at once.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio

__all__ = ["DEFAULT_TIMEOUT", "wait_until", "wait_until_async"]

T = TypeVar("T")
DEFAULT_TIMEOUT = 60.0


def _failure(what: str, timeout: float, last: object) -> AssertionError:
    return AssertionError(f"timed out after {timeout:g} s waiting for {what}; last: {last!r}")


def wait_until(
    check: Callable[[], T],
    *,
    what: str,
    timeout: float = DEFAULT_TIMEOUT,
    interval: float = 0.2,
    accept: Callable[[T], Any] = bool,
    retry_on: tuple[type[BaseException], ...] = (),
) -> T:
    """Call ``check`` every ``interval`` s until ``accept`` takes its value; return it."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            value = check()
        except retry_on as error:
            last = error
        else:
            if accept(value):
                return value
            last = value
        if time.monotonic() > deadline:
            raise _failure(what, timeout, last)
        time.sleep(interval)  # polling another component


async def wait_until_async(
    check: Callable[[], Awaitable[T]],
    *,
    what: str,
    timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109 - a deadline for the poll, not the call
    interval: float = 0.2,
    accept: Callable[[T], Any] = bool,
    retry_on: tuple[type[BaseException], ...] = (),
) -> T:
    """Await ``check()`` every ``interval`` s until ``accept`` takes its value; return it."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            value = await check()
        except retry_on as error:
            last = error
        else:
            if accept(value):
                return value
            last = value
        if time.monotonic() > deadline:
            raise _failure(what, timeout, last)
        await anyio.sleep(interval)  # polling another component
