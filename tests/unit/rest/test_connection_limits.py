"""Slow or idle clients cannot hold connections: head, keep-alive and body deadlines, a cap.

Real sockets against the real uvicorn server (``HTTPServer``). The ``fail_after`` guards
bound how long a test may wait for the server; they are not what is asserted.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time

import anyio
import pytest
from anyio.abc import SocketAttribute, SocketStream
from starlette.types import Message, Receive, Scope, Send

from kubeweft.rest.connections import ServerLimits, unread_bytes
from kubeweft.settings import Settings
from tests.unit.rest.conftest import build
from tests.unit.rest.servers import serving

pytestmark = pytest.mark.anyio

GET = b"GET /api/webapps HTTP/1.1\r\nHost: test\r\n\r\n"
GUARD = 30  # seconds a test may wait for the server before it is stuck


async def _connect(port: int | None) -> SocketStream:
    assert port is not None
    return await anyio.connect_tcp("127.0.0.1", port)


async def _read_response(stream: SocketStream) -> tuple[int, bytes]:
    """One response: (status, head)."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += await stream.receive()
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += await stream.receive()
    return int(head.split(b" ", 2)[1]), head


async def _closed_by_server(stream: SocketStream) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    try:
        while True:
            received += await stream.receive()
    except (anyio.EndOfStream, anyio.BrokenResourceError, ConnectionResetError):
        return received


async def test_a_connection_that_never_sends_a_head_is_closed() -> None:
    async with serving(build()[0], limits=ServerLimits(header_timeout=0.5)) as server:
        stream = await _connect(server.port)
        with anyio.fail_after(GUARD):
            assert await _closed_by_server(stream) == b""


async def test_slowloris_headers_byte_by_byte_are_cut_off() -> None:
    head = b"GET /api/webapps HTTP/1.1\r\nHost: test\r\nX-Slow: " + b"a" * 2000 + b"\r\n\r\n"
    sent = 0
    async with serving(build()[0], limits=ServerLimits(header_timeout=0.5)) as server:
        stream = await _connect(server.port)

        async def trickle() -> None:
            nonlocal sent
            try:
                for index in range(len(head)):
                    await stream.send(head[index : index + 1])
                    sent += 1
                    await anyio.sleep(0.01)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
                return

        with anyio.fail_after(GUARD):
            async with anyio.create_task_group() as group:
                group.start_soon(trickle)
                received = await _closed_by_server(stream)
                group.cancel_scope.cancel()
    assert received == b""
    assert sent < len(head), "the whole head went through: the server waited it out"


async def test_the_next_head_has_a_deadline_too() -> None:
    # Each byte resets uvicorn's keep-alive timer; the head deadline is not reset.
    limits = ServerLimits(header_timeout=0.5, keep_alive_timeout=60)
    async with serving(build()[0], limits=limits) as server:
        stream = await _connect(server.port)
        with anyio.fail_after(GUARD):
            await stream.send(GET)
            status, _ = await _read_response(stream)
            assert status == 200
            for byte in b"GET /api/webapps HTTP/1.1\r\nX-Slow: " + b"a" * 2000:
                try:
                    await stream.send(bytes([byte]))
                except (anyio.BrokenResourceError, OSError):
                    break
                await anyio.sleep(0.01)
            else:
                pytest.fail("the server kept reading a head for 20 s")
            assert await _closed_by_server(stream) == b""


async def test_an_idle_keep_alive_connection_is_closed() -> None:
    limits = ServerLimits(header_timeout=60, keep_alive_timeout=1)
    async with serving(build()[0], limits=limits) as server:
        stream = await _connect(server.port)
        with anyio.fail_after(GUARD):
            await stream.send(GET)
            status, head = await _read_response(stream)
            assert status == 200
            assert b"connection: close" not in head.lower()
            assert await _closed_by_server(stream) == b""


async def test_a_body_that_never_completes_gets_408_and_is_closed() -> None:
    app = build(Settings(dev_user="alice", http_body_timeout_seconds=0.5))[0]
    async with serving(app) as server:
        stream = await _connect(server.port)
        with anyio.fail_after(GUARD):
            await stream.send(
                b"POST /api/webapps HTTP/1.1\r\nHost: test\r\n"
                b'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"metadata"'
            )
            answer = await _closed_by_server(stream)
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"application/problem+json" in answer
    assert b"request-timeout" in answer


async def test_a_complete_body_is_not_affected_by_the_deadline() -> None:
    app = build(Settings(dev_user="alice", http_body_timeout_seconds=5))[0]
    async with serving(app) as server:
        stream = await _connect(server.port)
        with anyio.fail_after(GUARD):
            await stream.send(
                b"POST /api/webapps HTTP/1.1\r\nHost: test\r\n"
                b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
            )
            status, _ = await _read_response(stream)
    assert status == 422


async def test_connections_past_the_cap_get_503() -> None:
    limits = ServerLimits(max_connections=2, header_timeout=60)
    async with serving(build()[0], limits=limits) as server:
        with anyio.fail_after(GUARD):
            held = [await _connect(server.port) for _ in range(2)]
            await held[0].send(GET)
            assert (await _read_response(held[0]))[0] == 200
            extra = await _connect(server.port)
            await extra.send(GET)
            # The API's problem document, not uvicorn's plain text; then the server closes.
            head, _, body = (await _closed_by_server(extra)).partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 503 ")
            assert b"content-type: application/problem+json" in head.lower()
            assert b"retry-after: 1" in head.lower()
            problem = json.loads(body)
            assert (problem["status"], problem["type"]) == (
                503,
                "https://kubeweft.dev/problems/service-unavailable",
            )
            assert problem["instance"] == "/api/webapps"
            for stream in (extra, *held):
                await stream.aclose()
            # The server notices the closes asynchronously: ask until it has.
            while True:
                again = await _connect(server.port)
                await again.send(GET)
                status, _ = await _read_response(again)
                await again.aclose()
                if status == 200:
                    break
                await anyio.sleep(0.05)


async def test_a_head_growing_past_the_size_limit_is_refused() -> None:
    # What the server buffers while a head is incomplete is bounded: the memory a client can pin.
    limits = ServerLimits(max_header_bytes=4096, header_timeout=60)
    async with serving(build()[0], limits=limits) as server:
        stream = await _connect(server.port)
        with anyio.fail_after(GUARD):
            await stream.send(b"GET /api/webapps HTTP/1.1\r\nHost: test\r\nX-Big: " + b"a" * 8192)
            answer = await _closed_by_server(stream)
    assert answer.startswith(b"HTTP/1.1 400 ")


async def test_a_head_sent_in_pieces_past_the_size_limit_is_refused() -> None:
    # httptools buffers a header without bound; the protocol counts the head's reads.
    limits = ServerLimits(max_header_bytes=4096, header_timeout=60)
    async with serving(build()[0], limits=limits) as server:
        stream = await _connect(server.port)
        with anyio.fail_after(GUARD):
            start = b"GET /api/webapps HTTP/1.1\r\nHost: test\r\nX-Big: "
            await stream.send(start)
            # Four reads at most; only the last crosses the cap, so nothing is left
            # unread when the server answers and closes (which would reset the 400).
            for _ in range(4):
                await stream.send(b"a" * 1024)
            answer = await _closed_by_server(stream)
    assert answer.startswith(b"HTTP/1.1 400 ")


async def test_a_body_is_not_counted_as_the_next_head() -> None:
    # A body past the head cap and the start of a pipelined head arrive in one read.
    limits = ServerLimits(max_header_bytes=4096, header_timeout=60)
    body = b'{"x": "' + b"a" * 8192 + b'"}'
    async with serving(build()[0], limits=limits) as server:
        stream = await _connect(server.port)
        with anyio.fail_after(GUARD):
            await stream.send(
                b"POST /api/webapps HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
                b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
                + b"GET /api/webapps HTTP/1.1\r\n"
            )  # fmt: skip
            assert (await _read_response(stream))[0] == 422
            await stream.send(b"Host: test\r\n\r\n")
            assert (await _read_response(stream))[0] == 200


# The process runs on uvloop (kubeweft.app), which runs a turn's due timers before it
# polls the sockets; the tests run on asyncio's own loop. Both are shown.
BOTH_LOOPS = [("asyncio", {"use_uvloop": False}), ("asyncio", {"use_uvloop": True})]


@pytest.mark.parametrize("anyio_backend", BOTH_LOOPS, ids=["asyncio", "uvloop"])
@pytest.mark.parametrize(
    "limits",
    [
        ServerLimits(keep_alive_timeout=1, header_timeout=60),
        ServerLimits(keep_alive_timeout=60, header_timeout=1),
    ],
    ids=["keep-alive", "head-deadline"],
)
async def test_a_request_waiting_unread_when_a_timer_fires_is_served(limits: ServerLimits) -> None:
    """Right after the first response (which armed the server's timer, due in a second)
    the loop is held, as by a slow callback, past that deadline. A timer due before the
    server's sends the next request, so it waits unread in the kernel when the server's
    timer runs in the same turn. Closing then would reset the connection under a
    request that arrived in time."""
    loop = asyncio.get_running_loop()
    stream: SocketStream | None = None
    held = False

    def send_next_then_hold() -> None:
        assert stream is not None
        raw = stream.extra(SocketAttribute.raw_socket)
        # A plain socket on the same connection: uvloop's own refuses send().
        client = socket.socket(fileno=raw.dup().detach())

        def send_next() -> None:
            with client:
                client.send(GET)

        # Not due now (uvloop would run it as a plain callback, after the timers).
        loop.call_later(0.01, send_next)
        time.sleep(1.5)  # holds the loop past the server's deadline

    app = build()[0]

    async def holding_after_the_first_response(scope: Scope, receive: Receive, send: Send) -> None:
        async def sent(message: Message) -> None:
            nonlocal held
            await send(message)  # the last body part arms the server's timer
            last = message["type"] == "http.response.body" and not message.get("more_body")
            if last and not held:
                held = True
                send_next_then_hold()

        await app(scope, receive, sent)

    async with serving(holding_after_the_first_response, limits=limits) as server:
        stream = await _connect(server.port)
        with anyio.fail_after(GUARD):
            await stream.send(GET)
            assert (await _read_response(stream))[0] == 200
            try:
                status, _ = await _read_response(stream)
            except (anyio.EndOfStream, anyio.BrokenResourceError, ConnectionResetError) as lost:
                pytest.fail(f"a request sent before the deadline lost its connection: {lost!r}")
    assert held
    assert status == 200


class _Transport(asyncio.BaseTransport):
    def __init__(self, sock: socket.socket) -> None:
        super().__init__()
        self._sock = sock

    def get_extra_info(self, name: str, default: object = None) -> object:
        return self._sock if name == "socket" else default


def test_unread_bytes_of_a_socket_closed_meanwhile_is_zero() -> None:
    # A timer can fire after the client closed the connection: the socket's file
    # descriptor is then -1, which ioctl refuses with ValueError, not OSError.
    left, right = socket.socketpair()
    with right:
        right.sendall(b"GET / HTTP/1.1\r\n")
        assert unread_bytes(_Transport(left)) == len(b"GET / HTTP/1.1\r\n")
        left.close()
        assert unread_bytes(_Transport(left)) == 0
