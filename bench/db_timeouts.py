"""How long a request waits on a database that does not answer, and how long retention
holds a lock: the figures behind docs/design/database.md's statement timeout and
retention sections.

Run: ``.venv/bin/python bench/db_timeouts.py`` (starts a private PostgreSQL like the
test fixture does, and uses a temporary SQLite file). Prints:

* the time until the REST layer's database side (``RepositorySource.resource_records``,
  the detail view's four statements) gives up with ``DatabaseTimeout`` (the 503), and
  until ``Database.ping`` (``/readyz``) says no, for a PostgreSQL server frozen with
  SIGSTOP, a table held ACCESS EXCLUSIVE, and SQLite's write lock held (an annotation
  write), at statement timeouts of 1 s and 5 s (the default);
* for 100,000 expired reconcile-log rows, the longest single transaction of the
  retention job (batches of 1,000) against one unbatched DELETE.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.support

from tests.support.postgres import PostgresServer, find_bin_dir

from kubeweft.db.engine import Database
from kubeweft.db.migrate import migrate
from kubeweft.db.records import ReconcileRecord
from kubeweft.db.types import utcnow
from kubeweft.repositories import reconcile_log, unit_of_work
from kubeweft.repositories.retention import RetentionJob, RetentionPolicy
from kubeweft.views.errors import DatabaseTimeout
from kubeweft.views.records import ResourceRef
from kubeweft.views.repository_source import RepositorySource

EXPIRED_ROWS = 100_000
UID = str(uuid.uuid4())


async def seconds_until_timeout(call: Callable[[], Awaitable[Any]]) -> str:
    started = time.monotonic()
    try:
        await call()
    except DatabaseTimeout:
        return f"{time.monotonic() - started:.2f} s → 503"
    except Exception as exc:
        return f"{time.monotonic() - started:.2f} s → {type(exc).__name__} (not a timeout!)"
    return f"{time.monotonic() - started:.2f} s → answered"


async def seconds_until_not_ready(database: Database) -> str:
    started = time.monotonic()
    ok = await database.ping()
    return f"{time.monotonic() - started:.2f} s → {'ready' if ok else 'not ready'}"


@contextmanager
def frozen(server: PostgresServer) -> Iterator[None]:
    postmaster = int((server.data_dir / "postmaster.pid").read_text().split()[0])
    children = subprocess.run(
        ["pgrep", "-P", str(postmaster)], capture_output=True, text=True, check=False
    ).stdout.split()
    pids = [postmaster, *map(int, children)]
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


def detail(source: RepositorySource) -> Callable[[], Awaitable[Any]]:
    return lambda: source.resource_records(UID, history_limit=10, since=utcnow())


async def postgres_cases(server: PostgresServer, limit: float) -> None:
    url = server.create_database("bench")
    await migrate(url)
    database = Database(url, statement_timeout=limit).connect()
    source = RepositorySource(database)
    try:
        await detail(source)()
        with frozen(server):
            answer = await seconds_until_timeout(detail(source))
            print(f"  PostgreSQL frozen (SIGSTOP), detail:  {answer}")
            answer = await seconds_until_not_ready(database)
            print(f"  PostgreSQL frozen (SIGSTOP), /readyz: {answer}")
        holder = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
        try:
            async with holder.transaction():
                await holder.execute("LOCK TABLE change_history IN ACCESS EXCLUSIVE MODE")
                answer = await seconds_until_timeout(detail(source))
                print(f"  PostgreSQL table locked, detail:      {answer}")
        finally:
            await holder.close()
    finally:
        await database.aclose()
        server.drop_database(url)


async def sqlite_case(directory: Path, limit: float) -> None:
    db_file = directory / f"timeouts-{limit:g}.db"
    url = f"sqlite+aiosqlite:///{db_file}"
    await migrate(url)
    database = Database(url, statement_timeout=limit).connect()
    source = RepositorySource(database)
    ref = ResourceRef(UID, "WebApp", "default", "web")
    holder = sqlite3.connect(db_file, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")

        async def annotate() -> Any:
            return await source.add_annotation(ref, author="bench", body="x")

        print(f"  SQLite write lock held, annotate:    {await seconds_until_timeout(annotate)}")
        holder.execute("ROLLBACK")
    finally:
        holder.close()
        await database.aclose()


async def retention_case(name: str, url: str) -> None:
    await migrate(url)
    database = Database(url).connect()
    old = utcnow() - timedelta(days=30)
    try:
        for unbatched in (False, True):
            async with unit_of_work(database) as session:
                await reconcile_log_rows(session, old)
            durations: list[float] = []
            started = time.monotonic()
            if unbatched:
                async with unit_of_work(database) as session:
                    await reconcile_log.prune_attempts(session, utcnow() - timedelta(days=7))
                durations.append(time.monotonic() - started)
            else:
                job = RetentionJob(
                    database,
                    RetentionPolicy(
                        metric_samples=None,
                        reconcile_log=timedelta(days=7),
                        audit=None,
                        history=None,
                        batch_size=1000,
                    ),
                )
                original = job._prune_table

                async def timed(
                    prune: Any,
                    cutoff: Any,
                    job: RetentionJob = job,
                    durations: list[float] = durations,
                ) -> int:
                    limit = job.policy.batch_size
                    total = 0
                    while True:
                        t0 = time.monotonic()
                        async with unit_of_work(database) as session:
                            deleted = await prune(session, cutoff, limit=limit)
                        durations.append(time.monotonic() - t0)
                        total += deleted
                        if deleted < limit:
                            return total

                job._prune_table = timed  # type: ignore[method-assign]
                await job.prune_once()
                job._prune_table = original  # type: ignore[method-assign]
            total = time.monotonic() - started
            kind = "one DELETE" if unbatched else f"{len(durations)} batches of 1,000"
            print(
                f"  {name}: {EXPIRED_ROWS:,} rows, {kind}: longest transaction "
                f"{max(durations) * 1000:.0f} ms, median {statistics.median(durations) * 1000:.0f}"
                f" ms, whole pass {total:.2f} s"
            )
    finally:
        await database.aclose()


async def reconcile_log_rows(session: Any, old: Any) -> None:
    from kubeweft.db import records

    rows = [
        ReconcileRecord(UID, "default", "web", "WebApp", old - timedelta(seconds=i), 0.1, "success")
        for i in range(EXPIRED_ROWS)
    ]
    for start in range(0, len(rows), 5000):
        await records.write_reconciles(session, rows[start : start + 5000])


async def main() -> None:
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise SystemExit("PostgreSQL binaries not found (bash hack/system-deps.sh)")
    with PostgresServer(bin_dir) as server, tempfile.TemporaryDirectory() as tmp:
        for limit in (1.0, 5.0):
            print(f"statement timeout {limit:g} s:")
            await postgres_cases(server, limit)
            await sqlite_case(Path(tmp), limit)
        print("retention:")
        await retention_case("SQLite", f"sqlite+aiosqlite:///{Path(tmp) / 'retention.db'}")
        await retention_case("PostgreSQL", server.create_database("retention"))


if __name__ == "__main__":
    anyio.run(main)
