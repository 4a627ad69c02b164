"""Start-up failures a person can act on: what is wrong and what to do, in one line.

Each step of start-up (configuration, database, Kubernetes, CRDs, the local control
plane, the listening sockets) turns the failure it understands into a
:class:`StartupError` naming the cause and the remedy; ``kubeweft run`` prints it as one
line on stderr and exits non-zero (2 for configuration, 1 for the rest). A failure that
leaves through a task group arrives wrapped in exception groups — "unhandled errors in
a TaskGroup (1 sub-exception)" says nothing — so :func:`explain` digs out the root
cause first.
"""

from __future__ import annotations

import asyncio
import errno
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["EXIT_CONFIG", "EXIT_FAILURE", "StartupError", "explain", "listening", "root_cause"]

EXIT_FAILURE = 1
EXIT_CONFIG = 2
REASON_LENGTH = 200


class StartupError(Exception):
    """The process cannot start: ``message`` says why, ``hint`` what to do about it."""

    def __init__(self, message: str, hint: str = "", *, exit_code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.exit_code = exit_code

    def line(self) -> str:
        """The one line printed for a person: ``<message>; <hint>`` without newlines."""
        text = f"{self.message}; {self.hint}" if self.hint else self.message
        return " ".join(text.split())


def _leaves(error: BaseException) -> Iterator[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            yield from _leaves(inner)
    else:
        yield error


def root_cause(error: BaseException) -> BaseException:
    """The error that matters inside nested exception groups.

    A ``StartupError`` wins (it was raised on purpose); otherwise the first leaf that is
    not a cancellation (the siblings a failure cancelled are not the cause).
    """
    leaves = list(_leaves(error))
    for leaf in leaves:
        if isinstance(leaf, StartupError):
            return leaf
    for leaf in leaves:
        if not isinstance(leaf, asyncio.CancelledError):  # kubeweft runs on asyncio
            return leaf
    return leaves[0]


def reason(error: BaseException) -> str:
    """A short, single-line description of ``error`` (its type when it has no message)."""
    text = " ".join(str(error).split())
    if len(text) > REASON_LENGTH:
        text = text[: REASON_LENGTH - 1] + "…"
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def explain(error: BaseException) -> StartupError:
    """The :class:`StartupError` to print for whatever ended start-up."""
    cause = root_cause(error)
    if isinstance(cause, StartupError):
        return cause
    if isinstance(cause, OSError) and cause.errno == errno.EADDRINUSE:
        return StartupError(
            f"an address is already in use ({reason(cause)})",
            "stop the process that holds it or choose other ports (--api-port, --probe-port)",
        )
    return StartupError(
        f"kubeweft could not start: {reason(cause)}",
        "the log above has the details; run with --log-level DEBUG for more",
    )


@contextmanager
def listening(what: str, host: str, port: int, option: str) -> Iterator[None]:
    """Report a socket that cannot be bound as the port (and the option) to change."""
    try:
        yield
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            problem = "is already in use (another kubeweft or another program holds it)"
        elif exc.errno in (errno.EACCES, errno.EPERM):
            problem = "may not be bound by this user (ports below 1024 need privileges)"
        elif exc.errno == errno.EADDRNOTAVAIL:
            problem = "names an address this machine does not have"
        else:
            raise
        raise StartupError(
            f"the {what} cannot listen on {host}:{port}: the address {problem}",
            f"stop what holds it or choose another port with {option} (0 picks a free one)",
        ) from exc
