"""Run an app on a real uvicorn server (``HTTPServer``, as the process serves) in a test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from starlette.types import ASGIApp

from kubeweft.rest.connections import ServerLimits
from kubeweft.rest.server import HTTPServer
from kubeweft.rest.tls import ReloadingCertificate


@asynccontextmanager
async def serving(
    app: ASGIApp,
    *,
    limits: ServerLimits | None = None,
    tls: ReloadingCertificate | None = None,
) -> AsyncIterator[HTTPServer]:
    """``app`` served on 127.0.0.1 (a free port) until the block ends."""
    server = HTTPServer(
        app, name="test", host="127.0.0.1", port=0, drain_timeout=1, limits=limits, tls=tls
    )
    async with anyio.create_task_group() as group:
        await group.start(server.run)
        try:
            yield server
        finally:
            group.cancel_scope.cancel()
