"""An HTTP server as a runnable: uvicorn inside kubeweft's task-group tree.

``uvicorn.Server.serve`` wants to own the process (it installs signal handlers); here
the process owns the signals and shutdown is cancellation, so this drives uvicorn's
``startup``/``shutdown`` directly. The socket is bound before ``started()`` so port 0
works and the bound port is known (``port``) by the time anyone asks. On cancellation
the server stops accepting, lets in-flight requests finish (bounded by
``drain_timeout``), then returns.

Every server runs with :class:`~kubeweft.rest.connections.ServerLimits` (a deadline for
each request head, the keep-alive timeout, a connection cap, a header size cap) and,
given a :class:`~kubeweft.rest.tls.ReloadingCertificate`, serves HTTPS with a
certificate that follows its files.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

import anyio
import uvicorn
from anyio.abc import TaskStatus
from starlette.types import ASGIApp

from kubeweft.logging import get_logger
from kubeweft.rest.connections import ServerLimits, protocol_with_head_deadline
from kubeweft.rest.tls import ReloadingCertificate
from kubeweft.settings import Settings

__all__ = ["HTTPServer", "server_limits"]

_log = get_logger("kubeweft.rest.server")


def server_limits(settings: Settings) -> ServerLimits:
    return ServerLimits(
        header_timeout=settings.http_header_timeout_seconds,
        keep_alive_timeout=settings.http_keep_alive_timeout_seconds,
        max_connections=settings.http_max_connections,
        max_header_bytes=settings.http_max_header_bytes,
    )


class HTTPServer:
    """Serve ``app`` on ``host:port`` until cancelled."""

    # Servers run on every replica, leader or not (the API scales out).
    need_leader_election = False

    def __init__(
        self,
        app: ASGIApp,
        *,
        name: str,
        host: str,
        port: int,
        drain_timeout: float,
        limits: ServerLimits | None = None,
        tls: ReloadingCertificate | None = None,
        on_drain: Callable[[], None] | None = None,
    ) -> None:
        self.app = app
        # Called when draining begins: ends responses that never finish on their own
        # (event streams), so the drain waits only for ordinary requests.
        self.on_drain = on_drain
        self.name = name
        self.host = host
        self.requested_port = port
        self.drain_timeout = drain_timeout
        self.limits = limits or ServerLimits()
        self.tls = tls
        self.port: int | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{host}:{self.port}"

    def _bind(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.requested_port))
        sock.set_inheritable(True)
        return sock

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        limits, tls = self.limits, self.tls
        config = uvicorn.Config(
            self.app,
            http=protocol_with_head_deadline(limits),
            lifespan="off",
            log_config=None,
            access_log=False,
            server_header=False,
            timeout_graceful_shutdown=max(int(self.drain_timeout), 1),
            timeout_keep_alive=limits.keep_alive_timeout,
            # uvicorn refuses once open connections reach the limit, the asking one
            # included: +1 so that max_connections connections are served.
            limit_concurrency=limits.max_connections + 1,
            ssl_context_factory=(lambda _config, _default: tls.context) if tls else None,
        )
        server = uvicorn.Server(config)
        config.load()
        server.lifespan = config.lifespan_class(config)
        sock = self._bind()
        try:
            await server.startup(sockets=[sock])
            self.port = sock.getsockname()[1]
            _log.info("http server listening", server=self.name, url=self.url)
            task_status.started()
            # main_loop keeps the Date header fresh; it returns only if should_exit is set.
            await server.main_loop()
        finally:
            with anyio.CancelScope(shield=True):
                _log.info("http server draining", server=self.name)
                server.should_exit = True
                if self.on_drain is not None:
                    self.on_drain()
                if getattr(server, "servers", None):
                    await server.shutdown(sockets=[sock])
                sock.close()
                _log.info("http server stopped", server=self.name)
