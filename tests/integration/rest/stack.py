"""A real kubeweft process, in-process: real control plane, real database, real HTTP.

``running(...)`` builds :class:`kubeweft.app.Process` exactly as ``kubeweft run`` does
(same start-up, same runnables; the shipped WebApp application unless ``app`` is given)
with the API and probes on free loopback ports, and yields it with an HTTP client for
its API. Leaving the block stops it gracefully.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import httpx

from kubeweft.app import Process, ensure_crds
from kubeweft.application import App
from kubeweft.db.engine import Database
from kubeweft.examples import webapp
from kubeweft.localcluster import ClusterAccess
from kubeweft.runtime.client import Client
from kubeweft.settings import Settings
from tests.support.migrated import migrate_fresh

DEV_USER = "dev-tester"


@dataclass
class Running:
    process: Process
    http: httpx.AsyncClient
    probes: httpx.AsyncClient
    database: Database
    client: Client


@asynccontextmanager
async def running(
    cluster: ClusterAccess, database_url: str, *, app: App = webapp.app, **overrides: Any
) -> AsyncIterator[Running]:
    values: dict[str, Any] = {
        "kubeconfig": cluster.kubeconfig_path,
        "database_url": database_url,
        "dev_user": DEV_USER,
        "api_port": 0,
        "probe_port": 0,
        "local_cluster": False,
        "kubernetes_token_auth": False,
        "drain_timeout_seconds": 10.0,
        "workers": 4,
    }
    values.update(overrides)
    settings = Settings(**values)
    await migrate_fresh(database_url)  # a new SQLite file: a copy of a migrated one
    database = Database(database_url).connect()
    client = Client.from_settings(settings)
    try:
        await ensure_crds(
            client,
            app.models,
            install=True,
            manager="kubeweft-tests",
            conversions=app.conversions,
        )
        process = Process(app, settings, database, client)
        async with anyio.create_task_group() as tg:
            await tg.start(process.run)
            assert process.info.probe_url is not None
            try:
                async with (
                    httpx.AsyncClient(base_url=process.info.api_url or "", timeout=60) as http,
                    httpx.AsyncClient(base_url=process.info.probe_url, timeout=30) as probes,
                ):
                    yield Running(process, http, probes, database, client)
            finally:
                process.stop()
    finally:
        with anyio.CancelScope(shield=True):
            await client.aclose()
            await database.aclose()
