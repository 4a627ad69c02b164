"""How long a client may hold a connection, and how many it may hold: the server's limits.

uvicorn's h11 protocol closes a connection that stays silent after a response
(``timeout_keep_alive``) and answers 503 past ``limit_concurrency``, but it has no
deadline for a request *head*: a client that opens a connection and never sends a byte,
or sends its headers one byte at a time (slowloris), holds the connection forever — and
every byte resets the keep-alive timer. :class:`HeadDeadlineProtocol` adds that deadline:
from the moment a connection opens, and again each time a response completes, the next
request head must be complete within ``header_timeout`` seconds, or the connection is
closed. A request being served is never cut short here; a body that does not arrive is
the request body timeout's business (``middleware.RequestBodyTimeoutMiddleware``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["HeadDeadlineProtocol", "ServerLimits", "protocol_with_head_deadline"]


@dataclass(frozen=True)
class ServerLimits:
    """Connection limits of one HTTP server.

    ``max_connections`` counts open connections, idle ones included: past it a request
    is answered 503 (uvicorn's ``limit_concurrency``). ``max_header_bytes`` bounds the
    request line plus headers (h11's incomplete-event size; more is a 400).
    """

    header_timeout: float = 10.0
    keep_alive_timeout: int = 5
    max_connections: int = 1000
    max_header_bytes: int = 16 * 1024


class HeadDeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request head."""

    header_timeout: float = 10.0
    _head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        super().connection_made(transport)
        self._arm_head_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_deadline()
        super().connection_lost(exc)

    def _arm_head_deadline(self) -> None:
        self._disarm_head_deadline()
        if not self.transport.is_closing():
            self._head_deadline = self.loop.call_later(
                self.header_timeout, self._head_deadline_passed
            )

    def _disarm_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_deadline_passed(self) -> None:
        self._head_deadline = None
        serving = self.cycle is not None and not self.cycle.response_complete
        if not serving and not self.transport.is_closing():
            # Nothing, part of a head, or the rest of an unread body: none of it is owed.
            self.transport.close()


def protocol_with_head_deadline(header_timeout: float) -> type[HeadDeadlineProtocol]:
    """The protocol class to give uvicorn (it instantiates it once per connection)."""
    return type("HeadDeadlineProtocol", (HeadDeadlineProtocol,), {"header_timeout": header_timeout})
