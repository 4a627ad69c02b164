"""A database that stops answering costs a request the statement timeout and a 503.

Real control plane, real process (``tests.integration.rest.stack``), real databases:

* PostgreSQL stopped dead — every process of a private server this test starts itself
  gets ``SIGSTOP`` (the socket stays open, nothing answers: a hung host, a partition);
  only the client-side bounds can end the wait;
* PostgreSQL alive but a table locked ``ACCESS EXCLUSIVE`` by another connection; the
  server's own ``statement_timeout`` / ``lock_timeout`` ends the wait;
* SQLite with the write lock held by another connection; the busy timeout ends it.

Each time the request answers 503 ``application/problem+json`` with ``Retry-After``
(not 500, and not a hang: the HTTP client gives up only after 60 s), ``/readyz`` names
the database, and once the database answers again so does the API.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from kubeweft.localcluster import ClusterAccess
from kubeweft.repositories import apikeys, unit_of_work
from tests.integration.db.conftest import frozen
from tests.integration.rest.stack import Running, running
from tests.support.postgres import PostgresServer
from tests.support.waiting import wait_until_async

pytestmark = [pytest.mark.anyio, pytest.mark.localcluster]

TIMEOUT = 1.0


@asynccontextmanager
async def served(cluster: ClusterAccess, url: str) -> AsyncIterator[Running]:
    async with running(
        cluster, url, enable_controller=False, database_statement_timeout_seconds=TIMEOUT
    ) as app:
        # The stack builds its Database without the setting; reconnect it the way
        # `kubeweft run` builds it (the process holds this same object).
        await app.database.aclose()
        app.database.statement_timeout = TIMEOUT
        app.database.connect()
        yield app


async def create_webapp(app: Running, namespace: str) -> str:
    created = await app.http.post(
        "/api/webapps", json={"name": "a", "namespace": namespace, "spec": {"image": "x:1"}}
    )
    assert created.status_code == 201, created.text
    path = f"/api/webapps/{namespace}/a"
    assert (await app.http.get(path)).status_code == 200
    return path


async def forget_kept_rows(app: Running, path: str) -> None:
    """A write of the object's records (an annotation): the next detail read goes to the
    database instead of answering with the rows kept from the reads before
    (views.repository_source)."""
    note = await app.http.post(f"{path}/annotations", json={"body": "before the outage"})
    assert note.status_code == 201, note.text


def assert_timeout_problem(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "1"
    body = response.json()
    assert body["type"].endswith("/database-timeout")
    assert "Traceback" not in response.text


async def assert_database_not_ready(app: Running) -> None:
    ready = await app.probes.get("/readyz")
    assert ready.status_code == 503, ready.text
    assert ready.json()["failed"] == ["database"]
    assert "did not answer within 1s" in ready.json()["checks"]["database"]


async def assert_recovers(app: Running, path: str) -> None:
    async def answered() -> int:
        return (await app.http.get(path)).status_code

    await wait_until_async(
        answered,
        what="the detail view after the database returned",
        accept=lambda code: code == 200,
        timeout=30,
    )
    ready = await app.probes.get("/readyz")
    assert ready.json()["checks"]["database"] == "ok"


@pytest.mark.postgres
async def test_frozen_postgres_is_503_then_recovers(
    local_cluster: ClusterAccess, namespace: str, private_postgres: PostgresServer
) -> None:
    url = private_postgres.create_database("frozen")
    async with served(local_cluster, url) as app:
        path = await create_webapp(app, namespace)
        async with unit_of_work(app.database) as session:
            _, api_key = await apikeys.create_api_key(session, user="alice")
        await forget_kept_rows(app, path)
        with frozen(private_postgres):
            assert_timeout_problem(await app.http.get(path))
            assert_timeout_problem(await app.http.get(f"{path}/history"))
            await assert_database_not_ready(app)
            # Who holds an API key cannot be known without the database: 503, not 401.
            keyed = await app.http.get(path, headers={"X-API-Key": api_key})
            assert keyed.status_code == 503, keyed.text
            assert keyed.headers["content-type"] == "application/problem+json"
            # The change is made in Kubernetes; its audit row and the response's
            # database side give up instead of holding the request.
            patched = await app.http.patch(
                path,
                json={"spec": {"image": "nginx:2"}},
                headers={"content-type": "application/merge-patch+json"},
            )
            assert patched.status_code == 200, patched.text
            assert patched.json()["spec"]["image"] == "nginx:2"
        await assert_recovers(app, path)
        keyed = await app.http.get(path, headers={"X-API-Key": api_key})
        # Known again; alice has no RBAC grant, so the authorizer refuses her.
        assert keyed.status_code == 403, keyed.text


@pytest.mark.postgres
async def test_locked_postgres_table_is_503_then_recovers(
    local_cluster: ClusterAccess, namespace: str, postgres_server: PostgresServer
) -> None:
    url = postgres_server.create_database("locked")
    try:
        async with served(local_cluster, url) as app:
            path = await create_webapp(app, namespace)
            await forget_kept_rows(app, path)
            holder: Any = await asyncpg.connect(
                url.replace("postgresql+asyncpg", "postgresql"), statement_cache_size=0
            )
            try:
                transaction = holder.transaction()
                await transaction.start()
                await holder.execute("LOCK TABLE change_history IN ACCESS EXCLUSIVE MODE")
                assert_timeout_problem(await app.http.get(path))
                await transaction.rollback()
            finally:
                await holder.close()
            await assert_recovers(app, path)
    finally:
        postgres_server.drop_database(url)


async def test_sqlite_write_lock_is_503_then_recovers(
    local_cluster: ClusterAccess, namespace: str, tmp_path: Path
) -> None:
    db_file = tmp_path / "kubeweft.db"
    async with served(local_cluster, f"sqlite+aiosqlite:///{db_file}") as app:
        path = await create_webapp(app, namespace)
        note = {"body": "while locked"}
        holder = sqlite3.connect(db_file, isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")  # the write lock, as a long writer holds it
            assert_timeout_problem(await app.http.post(f"{path}/annotations", json=note))
            holder.execute("ROLLBACK")
        finally:
            holder.close()
        created = await app.http.post(f"{path}/annotations", json=note)
        assert created.status_code == 201, created.text
