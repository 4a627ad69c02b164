"""What a reconciler is given and what it answers: controller-runtime's ``reconcile``.

A reconciler receives only a key (``Request``), never the event that caused it: it
reads the current state and drives toward the desired one, so missed, merged or
repeated events cannot make it wrong (level-triggered, not edge-triggered). Its
``Result`` says when to look again; an exception means "retry with backoff", except a
``TerminalError``, which says retrying cannot help.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["Reconciler", "Request", "Result", "TerminalError", "reconciler_func"]


@dataclass(frozen=True, slots=True, order=True)
class Request:
    """The key of the object to reconcile; ``namespace`` is "" for cluster-scoped kinds."""

    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


@dataclass(frozen=True, slots=True)
class Result:
    """``requeue_after`` > 0: look again after that many seconds (backoff forgotten).

    ``requeue``: look again with rate-limited backoff. Both unset: done until the next
    event. Ignored when the reconcile raises.
    """

    requeue: bool = False
    requeue_after: float | None = None

    def __post_init__(self) -> None:
        if self.requeue_after is not None and self.requeue_after < 0:
            raise ValueError("requeue_after must not be negative")


class Reconciler(Protocol):
    async def reconcile(self, request: Request) -> Result: ...


class TerminalError(Exception):
    """A failure that retrying cannot fix (e.g. an invalid spec): counted, not requeued.

    Wrap the cause: ``raise TerminalError("bad spec") from err``. The next change to the
    object still triggers a reconcile as usual.
    """


class _FuncReconciler:
    def __init__(self, fn: Callable[[Request], Awaitable[Result | None]]) -> None:
        self._fn = fn

    async def reconcile(self, request: Request) -> Result:
        result = await self._fn(request)
        return result if result is not None else Result()

    def __repr__(self) -> str:
        name: Any = getattr(self._fn, "__qualname__", self._fn)
        return f"reconciler_func({name})"


def reconciler_func(fn: Callable[[Request], Awaitable[Result | None]]) -> Reconciler:
    """Adapt a plain ``async def fn(request) -> Result | None`` into a ``Reconciler``."""
    return _FuncReconciler(fn)
