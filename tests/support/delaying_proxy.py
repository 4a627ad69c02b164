"""A TCP proxy that delays the API server's answers, for leader-election fault tests.

A slow API server is the case leader election must survive without two leaders: the
leader's renewals reach the server (and so keep a standby waiting) while their answers
come back late. This proxy forwards bytes both ways on loopback; what the server sends
back is held for ``delay`` seconds (set it at any time; ``math.inf`` holds answers
forever, as an unreachable server would), what the client sends goes through at once.
TLS passes through untouched, so a kubeconfig only needs its server URL pointed here
(:func:`kubeconfig_via`).

Run it as a runnable inside the test's task group::

    proxy = DelayingProxy("127.0.0.1", 6443)
    await tg.start(proxy.run)
    proxy.delay = 5.0
"""

from __future__ import annotations

import math
from pathlib import Path
from urllib.parse import urlsplit

import anyio
import anyio.abc
import yaml
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

__all__ = ["DelayingProxy", "kubeconfig_via"]

_CHUNK = 65536


class DelayingProxy:
    """Loopback TCP proxy to ``upstream``; ``port`` is known once ``run`` has started."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        #: Seconds each chunk from the server is held before it is passed on.
        self.delay = 0.0
        self.port = 0

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
        self.port = listener.extra(anyio.abc.SocketAttribute.local_port)
        async with listener, anyio.create_task_group() as tg:
            task_status.started()
            await listener.serve(self._connection, task_group=tg)

    async def _connection(self, client: anyio.abc.SocketStream) -> None:
        async with client:
            try:
                server = await anyio.connect_tcp(*self.upstream)
            except OSError:
                return
            async with server, anyio.create_task_group() as tg:
                send, receive = anyio.create_memory_object_stream[tuple[float, bytes]](math.inf)
                tg.start_soon(self._pump, client, server, tg)
                tg.start_soon(self._read_answers, server, send, tg)
                tg.start_soon(self._deliver_answers, receive, client, tg)

    @staticmethod
    async def _pump(
        source: anyio.abc.SocketStream, sink: anyio.abc.SocketStream, tg: anyio.abc.TaskGroup
    ) -> None:
        try:
            while True:
                await sink.send(await source.receive(_CHUNK))
        except (anyio.EndOfStream, anyio.BrokenResourceError, OSError):
            tg.cancel_scope.cancel()

    async def _read_answers(
        self,
        server: anyio.abc.SocketStream,
        send: MemoryObjectSendStream[tuple[float, bytes]],
        tg: anyio.abc.TaskGroup,
    ) -> None:
        async with send:
            try:
                while True:
                    data = await server.receive(_CHUNK)
                    await send.send((anyio.current_time() + self.delay, data))
            except (anyio.EndOfStream, anyio.BrokenResourceError, OSError):
                pass  # what was read is still delivered (on time); then the connection ends

    @staticmethod
    async def _deliver_answers(
        receive: MemoryObjectReceiveStream[tuple[float, bytes]],
        client: anyio.abc.SocketStream,
        tg: anyio.abc.TaskGroup,
    ) -> None:
        async with receive:
            try:
                async for due, data in receive:
                    await anyio.sleep(max(0.0, due - anyio.current_time()))
                    await client.send(data)
            except (anyio.BrokenResourceError, OSError):
                pass
        tg.cancel_scope.cancel()


def kubeconfig_via(kubeconfig: Path, proxy: DelayingProxy, target: Path) -> Path:
    """A copy of ``kubeconfig`` whose clusters' servers are reached through ``proxy``."""
    config = yaml.safe_load(kubeconfig.read_text())
    for entry in config.get("clusters", []):
        server = urlsplit(entry["cluster"]["server"])
        entry["cluster"]["server"] = f"{server.scheme}://127.0.0.1:{proxy.port}"
    target.write_text(yaml.safe_dump(config))
    return target
