"""Runnables: the long-running parts a manager starts, stops and orders.

Every long-running piece — cache, controller, leader elector, HTTP server — has the
same shape: ``async def run(self, *, task_status)`` that signals ``started()`` when
ready and returns (or unwinds) when cancelled. That one shape is what lets the manager
compose them as a tree of task groups. A runnable also says whether it may run only on
the elected leader (controllers) or on every replica (servers); like
controller-runtime, a runnable that does not say is assumed to need leadership.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

import anyio
from anyio.abc import TaskStatus

__all__ = ["Runnable", "RunnableFunc", "needs_leader_election"]


@runtime_checkable
class Runnable(Protocol):
    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None: ...


def needs_leader_election(runnable: object) -> bool:
    """``runnable.need_leader_election`` if it declares it, else True (controller-runtime)."""
    return bool(getattr(runnable, "need_leader_election", True))


class RunnableFunc:
    """A runnable from a coroutine function ``fn()`` that is ready as soon as it starts."""

    def __init__(
        self,
        fn: Callable[[], Awaitable[None]],
        *,
        need_leader_election: bool = True,
        name: str | None = None,
    ) -> None:
        self.fn = fn
        self.need_leader_election = need_leader_election
        self.name = name or getattr(fn, "__qualname__", "runnable")

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        await self.fn()

    def __repr__(self) -> str:
        return f"RunnableFunc({self.name})"
