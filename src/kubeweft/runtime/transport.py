"""The API client's HTTP transport: each request reaches the socket in one write.

httpx's HTTP/1.1 connection sends a request as separate writes — the head, then each
piece of the body — and every write of an asyncio socket stream yields to the event
loop. In a process whose loop is busy (informers decoding watch events, the REST
server, database threads holding the GIL on two shared cores) the body of a PUT went
out 21 ms after its head, and the API server could not start on it until then
(``docs/design/performance.md``, propagation, fifth pass). A corked stream, as
``TCP_CORK`` does for a socket, keeps what is written until the connection is about to
read — the response — and writes it as one piece; a body larger than
:data:`FLUSH_AT` goes out as it grows, so memory stays bounded.

:class:`ApiTransport` is httpx's own transport with its connection pool built on
:class:`CorkingBackend`; everything else (TLS, keep-alive, limits, the mapping of
errors) is httpx's. The pool is the one attribute replaced (``_pool``), which the pinned
httpx keeps (``tests/unit/runtime/test_transport.py`` checks it is the one used).
"""

# httpcore's network interfaces take a timeout argument on every call.
# ruff: noqa: ASYNC109

from __future__ import annotations

import ssl
from collections.abc import Iterable
from typing import Any

import httpcore2
import httpx2 as httpx

__all__ = ["FLUSH_AT", "ApiTransport", "CorkedStream", "CorkingBackend"]

#: Buffered request bytes past which a corked stream writes without waiting for a read.
FLUSH_AT = 64 * 1024


class CorkedStream(httpcore2.AsyncNetworkStream):
    """A network stream whose writes are held until the next read (or TLS upgrade)."""

    def __init__(self, stream: httpcore2.AsyncNetworkStream) -> None:
        self._stream = stream
        self._pending = bytearray()

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._pending += buffer
        if len(self._pending) >= FLUSH_AT:
            await self.flush(timeout)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        await self.flush(timeout)
        return await self._stream.read(max_bytes, timeout)

    async def flush(self, timeout: float | None = None) -> None:
        """Write what is held, in one piece."""
        if self._pending:
            data = bytes(self._pending)
            self._pending.clear()
            await self._stream.write(data, timeout)

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> CorkedStream:
        await self.flush(timeout)
        return CorkedStream(await self._stream.start_tls(ssl_context, server_hostname, timeout))

    async def aclose(self) -> None:
        self._pending.clear()  # a request never read for is abandoned with its connection
        await self._stream.aclose()

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class CorkingBackend(httpcore2.AsyncNetworkBackend):
    """httpcore's network backend with every stream corked (:class:`CorkedStream`)."""

    def __init__(self, backend: httpcore2.AsyncNetworkBackend | None = None) -> None:
        self._backend = backend or httpcore2.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> CorkedStream:
        stream = await self._backend.connect_tcp(
            host, port, timeout, local_address=local_address, socket_options=socket_options
        )
        return CorkedStream(stream)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> CorkedStream:
        stream = await self._backend.connect_unix_socket(
            path, timeout, socket_options=socket_options
        )
        return CorkedStream(stream)

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


class ApiTransport(httpx.AsyncHTTPTransport):
    """httpx's HTTP/1.1 transport over :class:`CorkingBackend`, verifying with
    ``ssl_context`` (the kubeconfig's CA and client certificate). ``network_backend``
    is what the corked streams write to (httpcore's anyio sockets by default)."""

    def __init__(
        self,
        ssl_context: ssl.SSLContext,
        *,
        limits: httpx.Limits | None = None,
        network_backend: httpcore2.AsyncNetworkBackend | None = None,
    ) -> None:
        limits = limits or httpx.Limits()
        super().__init__(verify=ssl_context, trust_env=False, limits=limits)
        self._pool = httpcore2.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            network_backend=CorkingBackend(network_backend),
        )
