"""How long a client may hold a connection, and how many it may hold: the server's limits.

uvicorn closes a connection that stays silent after a response (``timeout_keep_alive``)
and answers 503 past ``limit_concurrency``, but it has no deadline for a request *head*:
a client that opens a connection and never sends a byte, or sends its headers one byte
at a time (slowloris), holds the connection forever — and every byte resets the
keep-alive timer. The protocols here add that deadline: from the moment a connection
opens, and again each time a response completes, the next request head must be
complete within ``header_timeout`` seconds, or the connection is closed. A request being
served is never cut short here; a body that does not arrive is the request body
timeout's business (``middleware.RequestBodyTimeoutMiddleware``).

The server parses with httptools (llhttp), as uvicorn does by default when it is
installed: several times h11's throughput on this stack (``docs/design/performance.md``).
h11 caps the bytes it buffers for an incomplete head; httptools has no such cap, so
:class:`HeadDeadlineProtocol` also counts the bytes of a head that is still incomplete
after a read and answers 400 past ``max_header_bytes``: the memory a client can pin is
the cap plus one read.

Both timers that close a connection (uvicorn's keep-alive, the head deadline) first ask
the kernel whether the client's bytes are already waiting unread. An event loop runs its
callbacks in turns: uvloop runs the due timers of a turn before it polls the sockets, and
any loop queues a timer and a read together after a stall (a slow callback, a busy CPU).
A timer that closed the connection then would close it under a request that had already
arrived in time, and a close with unread bytes is a reset: the client sees
``ConnectionResetError`` for a valid request. So a keep-alive timeout with bytes waiting
leaves the connection to the read that comes next (the head deadline still bounds that
request's head), and a head deadline with bytes waiting gives the head one more
``header_timeout``, once, so a stalled loop cannot cut off a client that sent in time.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass

from starlette.types import Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from kubeweft.rest.problems import PROBLEM_JSON, problem_body

if sys.platform != "win32":
    import fcntl
    import termios

__all__ = [
    "HeadDeadlineProtocol",
    "ServerLimits",
    "over_capacity",
    "protocol_with_head_deadline",
    "unread_bytes",
]


@dataclass(frozen=True)
class ServerLimits:
    """Connection limits of one HTTP server.

    ``max_connections`` counts open connections, idle ones included: past it a request
    is answered 503 (uvicorn's ``limit_concurrency``), as a problem document.
    ``max_header_bytes`` bounds the request line plus headers while they are incomplete
    (more is a 400).
    """

    header_timeout: float = 10.0
    keep_alive_timeout: int = 5
    max_connections: int = 1000
    max_header_bytes: int = 16 * 1024


async def over_capacity(scope: Scope, receive: Receive, send: Send) -> None:
    """The answer past ``max_connections``: 503 as ``application/problem+json``, with
    ``Retry-After`` and ``Connection: close`` (the connection counts against the cap)."""
    body = problem_body(
        status=503,
        slug="service-unavailable",
        title="Service Unavailable",
        detail="The server holds as many connections as it serves; retry shortly.",
        instance=str(scope.get("path", "")),
    )
    headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", b"1"),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def unread_bytes(transport: asyncio.BaseTransport) -> int:
    """How many bytes the client has sent that the server has not read yet (0 where the
    platform cannot tell)."""
    sock = transport.get_extra_info("socket")
    if sock is None or sys.platform == "win32":
        return 0
    fileno = sock.fileno()
    if fileno < 0:  # the client closed it meanwhile: nothing waits to be read
        return 0
    try:
        counted = fcntl.ioctl(fileno, termios.FIONREAD, b"\0\0\0\0")
    except OSError:  # closed meanwhile
        return 0
    return int.from_bytes(counted, sys.byteorder, signed=True)


class HeadDeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline for each request head and a cap on
    its size."""

    header_timeout: float = 10.0
    max_header_bytes: int = 16 * 1024
    _head_deadline: asyncio.TimerHandle | None = None
    # Messages begun and completed so far on this connection; whether the head of the
    # newest is still incomplete; its bytes counted so far.
    _begun = 0
    _completed = 0
    _head_open = False
    _head_bytes = 0
    # Whether this head has had its one extension for bytes that were waiting unread.
    _head_extended = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        begun, completed = self._begun, self._completed
        super().data_received(data)
        if not self._head_open or self.transport.is_closing():
            return
        if self._begun == begun:
            self._head_bytes += len(data)  # the whole read belongs to this head
        elif self._completed == completed:
            self._head_bytes = len(data)  # the head began in this read, nothing before it
        # Otherwise a previous message ended in this read, at an offset the parser does
        # not tell: this head is counted from the next read on.
        if self._head_bytes > self.max_header_bytes:
            self.send_400_response("Request head too large.")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._begun += 1
        self._head_open = True
        self._head_bytes = 0

    def on_headers_complete(self) -> None:
        self._head_open = False
        limit = self.limit_concurrency
        if limit is None or (len(self.connections) < limit and len(self.tasks) < limit):
            super().on_headers_complete()
            return
        # Past the cap uvicorn answers a plain-text 503 of its own: serve the API's
        # problem document instead, through the same request cycle.
        self.logger.warning("Exceeded concurrency limit.")
        app, self.app, self.limit_concurrency = self.app, over_capacity, None
        try:
            super().on_headers_complete()
        finally:
            self.app, self.limit_concurrency = app, limit

    def on_message_complete(self) -> None:
        self._completed += 1
        super().on_message_complete()

    def timeout_keep_alive_handler(self) -> None:
        if unread_bytes(self.transport) > 0:
            return  # a request arrived in time: its read is next (data_received)
        super().timeout_keep_alive_handler()

    def _arm_head_deadline(self) -> None:
        self._disarm_head_deadline()
        self._head_extended = False
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
        if serving or self.transport.is_closing():
            return
        if not self._head_extended and unread_bytes(self.transport) > 0:
            self._head_extended = True  # sent in time, not read yet: once more
            self._head_deadline = self.loop.call_later(
                self.header_timeout, self._head_deadline_passed
            )
        else:
            # Nothing, part of a head, or the rest of an unread body: none of it is owed.
            self.transport.close()


def protocol_with_head_deadline(limits: ServerLimits) -> type[HeadDeadlineProtocol]:
    """The protocol class to give uvicorn (it instantiates it once per connection)."""
    attributes = {
        "header_timeout": limits.header_timeout,
        "max_header_bytes": limits.max_header_bytes,
    }
    return type("HeadDeadlineProtocol", (HeadDeadlineProtocol,), attributes)
