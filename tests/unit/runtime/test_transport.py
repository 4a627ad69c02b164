"""The API client's transport: a request reaches the network in one write, through
httpx's own client and connection pool (a recording network backend stands in for
the socket)."""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from typing import Any

import httpcore2
import httpx2 as httpx
import pytest

from kubeweft.runtime.transport import FLUSH_AT, ApiTransport, CorkedStream

pytestmark = pytest.mark.anyio

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


class RecordingStream(httpcore2.AsyncNetworkStream):
    """Records each write; answers every read with ``RESPONSE`` once, then nothing."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.events: list[str] = []
        self._unread = RESPONSE

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        self.writes.append(buffer)
        self.events.append("write")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        self.events.append("read")
        data, self._unread = self._unread[:max_bytes], self._unread[max_bytes:]
        return data

    async def aclose(self) -> None:
        self.events.append("close")

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> RecordingStream:
        self.events.append("tls")
        return self

    def get_extra_info(self, info: str) -> Any:
        return None


class RecordingBackend(httpcore2.AsyncNetworkBackend):
    def __init__(self) -> None:
        self.streams: list[RecordingStream] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109
        local_address: str | None = None,
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> RecordingStream:
        self.streams.append(RecordingStream())
        return self.streams[-1]

    async def sleep(self, seconds: float) -> None:
        return None


async def test_a_put_goes_out_as_one_write_before_the_response_is_read() -> None:
    backend = RecordingBackend()
    transport = ApiTransport(ssl.create_default_context(), network_backend=backend)
    body = b'{"spec": {"image": "nginx:2"}}' * 50
    async with httpx.AsyncClient(transport=transport) as client:
        response = await client.put("http://api.test/apis/x", content=body)
    assert response.json() == {}
    (stream,) = backend.streams
    (request,) = stream.writes
    head, _, sent = request.partition(b"\r\n\r\n")
    assert head.startswith(b"PUT /apis/x HTTP/1.1")
    assert sent == body
    assert stream.events[:2] == ["write", "read"]


async def test_a_body_past_the_threshold_is_written_as_it_grows() -> None:
    inner = RecordingStream()
    stream = CorkedStream(inner)
    await stream.write(b"h" * 100)
    assert inner.writes == []
    await stream.write(b"b" * FLUSH_AT)
    assert [len(w) for w in inner.writes] == [FLUSH_AT + 100]
    await stream.write(b"tail")
    await stream.read(10)
    assert inner.writes[-1] == b"tail"
    assert inner.events == ["write", "write", "read"]


async def test_tls_is_started_after_what_was_held_and_the_new_stream_is_corked() -> None:
    inner = RecordingStream()
    stream = CorkedStream(inner)
    await stream.write(b"CONNECT")
    upgraded = await stream.start_tls(ssl.create_default_context())
    assert inner.events == ["write", "tls"]
    await upgraded.write(b"GET")
    assert inner.writes == [b"CONNECT"]
    assert isinstance(upgraded, CorkedStream)


async def test_closing_drops_what_was_never_read_for() -> None:
    inner = RecordingStream()
    stream = CorkedStream(inner)
    await stream.write(b"abandoned")
    await stream.aclose()
    assert inner.writes == []
    assert inner.events == ["close"]
