"""Database figures for docs/design/database.md: query latency at size, writer throughput.

Run: ``.venv/bin/python bench/db_queries.py`` (starts a private PostgreSQL like the test
fixture does, and uses a temporary SQLite file). Prints, for PostgreSQL and SQLite:

* latest metrics for 1,000 UIDs over 1,000,000 sample rows (``latest_metrics``; and,
  for comparison, the same answer computed from the raw series by a window function);
* ``metric_aggregates`` for one UID over its last 5 minutes;
* history by UID (``history_by_uid``) and ``history_for`` 100 UIDs at 100,000 rows;
* RecordWriter throughput (rows/s) with batching on and off.

Figures are medians of several runs on whatever machine runs this; they are meant to
show orders of magnitude and the effect of design choices, not to be compared exactly.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.support

from tests.support.postgres import PostgresServer, find_bin_dir

from kubeweft.db.engine import Database
from kubeweft.db.migrate import migrate
from kubeweft.db.records import HistoryRecord, MetricSample, ReconcileRecord, Record
from kubeweft.db.types import utcnow
from kubeweft.db.writer import RecordWriter
from kubeweft.repositories import history, metrics

N_UIDS = 1_000
SAMPLES = 1_000_000
METRIC_NAMES = ("ready_replicas", "desired_replicas", "reconcile_seconds")
HISTORY_UIDS = 10_000
HISTORY_PER_UID = 10  # 100,000 rows
WRITER_RECORDS = 6_000

RAW_LATEST = """
SELECT uid, name, ts, value FROM (
  SELECT uid, name, ts, value,
         row_number() OVER (PARTITION BY uid, name ORDER BY ts DESC) AS rn
  FROM metric_samples WHERE uid IN ({uids})
) ranked WHERE rn = 1
"""


def uid_for(i: int) -> str:
    return str(uuid.UUID(int=i + 1))


async def median_ms(fn: Callable[[], Awaitable[object]], runs: int = 7) -> float:
    await fn()  # warm caches and the connection pool
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        await fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


# --- bulk loading (setup only; the measured paths go through the repositories) ---------
async def load_postgres(db: Database) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(
            text(
                """
            INSERT INTO metric_samples (uid, name, ts, value)
            SELECT substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-' || substr(h, 13, 4)
                   || '-' || substr(h, 17, 4) || '-' || substr(h, 21, 12),
                   n.name, now() - make_interval(secs => 10 * k), (k % 7)::float
            FROM (SELECT lpad(to_hex(u + 1), 32, '0') AS h
                  FROM generate_series(0, :uids - 1) u) ids,
                 unnest(CAST(:names AS text[])) n(name),
                 generate_series(0, :per - 1) k
            """
            ),
            {"uids": N_UIDS, "names": list(METRIC_NAMES), "per": SAMPLES // N_UIDS // 3 + 1},
        )
        await conn.execute(
            text(
                """
            WITH ids AS MATERIALIZED (
              SELECT gen_random_uuid()::text AS uid FROM generate_series(1, :uids))
            INSERT INTO change_history
              (uid, namespace, name, kind, generation, spec, source, created_at)
            SELECT ids.uid, 'default', 'web', 'WebApp', g,
                   json_build_object('image', 'nginx:' || g, 'replicas', 1), 'reconciler', now()
            FROM ids, generate_series(1, :per) g
            """
            ),
            {"uids": HISTORY_UIDS, "per": HISTORY_PER_UID},
        )
        await conn.execute(text(LATEST_FROM_SAMPLES))
        await conn.execute(text("ANALYZE"))


LATEST_FROM_SAMPLES = """
INSERT INTO metric_latest (uid, name, ts, value)
SELECT uid, name, ts, value FROM (
  SELECT uid, name, ts, value,
         row_number() OVER (PARTITION BY uid, name ORDER BY ts DESC) AS rn
  FROM metric_samples) r WHERE rn = 1
"""


def load_sqlite(path: Path) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    per = SAMPLES // N_UIDS // 3 + 1
    conn = sqlite3.connect(path)
    with conn:
        conn.executemany(
            "INSERT INTO metric_samples (uid, name, ts, value) VALUES (?, ?, ?, ?)",
            (
                (uid_for(u), name, (now - timedelta(seconds=10 * k)).isoformat(" "), float(k % 7))
                for u in range(N_UIDS)
                for name in METRIC_NAMES
                for k in range(per)
            ),
        )
        conn.executemany(
            "INSERT INTO change_history (uid, namespace, name, kind, generation, spec,"
            " source, created_at) VALUES (?, 'default', 'web', 'WebApp', ?, ?,"
            " 'reconciler', ?)",
            (
                (uid, g, json.dumps({"image": f"nginx:{g}", "replicas": 1}), now.isoformat(" "))
                for uid in (str(uuid.uuid4()) for _ in range(HISTORY_UIDS))
                for g in range(1, HISTORY_PER_UID + 1)
            ),
        )
        conn.execute(LATEST_FROM_SAMPLES)
        conn.execute("ANALYZE")
    conn.close()


# --- measurements -----------------------------------------------------------------------
async def measure_queries(db: Database) -> dict[str, float]:
    uids = [uid_for(i) for i in range(N_UIDS)]
    async with db.engine.connect() as conn:
        total = (await conn.execute(text("SELECT count(*) FROM metric_samples"))).scalar_one()
        hist = (await conn.execute(text("SELECT count(*) FROM change_history"))).scalar_one()
        some = (
            (await conn.execute(text("SELECT DISTINCT uid FROM change_history LIMIT 100")))
            .scalars()
            .all()
        )
    print(f"    rows: metric_samples={total:,} change_history={hist:,}")

    async def latest() -> None:
        async with db.session() as s:
            result = await metrics.latest_metrics(s, uids)
            assert len(result) == N_UIDS
            assert all(len(v) == 3 for v in result.values())

    async def raw_latest() -> None:
        placeholders = ", ".join(f"'{u}'" for u in uids)
        async with db.engine.connect() as conn:
            rows = (await conn.execute(text(RAW_LATEST.format(uids=placeholders)))).all()
            assert len(rows) == N_UIDS * 3

    async def aggregates() -> None:
        async with db.session() as s:
            await metrics.metric_aggregates(s, uids[17], utcnow() - timedelta(minutes=5))

    async def by_uid() -> None:
        async with db.session() as s:
            rows = await history.history_by_uid(s, some[42], limit=50)
            assert len(rows) == HISTORY_PER_UID

    async def for_100() -> None:
        async with db.session() as s:
            await history.history_for(s, some, limit_per_uid=10)

    return {
        "latest_metrics 1,000 UIDs (metric_latest)": await median_ms(latest),
        "latest per UID from raw series (window fn)": await median_ms(raw_latest, runs=3),
        "metric_aggregates 1 UID, 5 min": await median_ms(aggregates),
        "history_by_uid at 100k rows": await median_ms(by_uid, runs=21),
        "history_for 100 UIDs x 10 at 100k rows": await median_ms(for_100),
    }


def writer_records(n: int) -> list[Record]:
    out: list[Record] = []
    now = utcnow()
    for i in range(n // 3):
        uid = str(uuid.uuid4())
        out.append(
            HistoryRecord(uid, "default", "web", "WebApp", 1, {"image": "nginx:1", "replicas": 1})
        )
        out.append(ReconcileRecord(uid, "default", "web", "WebApp", now, 0.01, "success"))
        out.append(MetricSample(uid, "ready_replicas", float(i), now))
    return out


async def measure_writer(db: Database, batching: bool) -> float:
    records = writer_records(WRITER_RECORDS)
    writer = RecordWriter(db, batching=batching, buffer_size=len(records))
    for record in records:
        writer.submit(record)
    async with anyio.create_task_group() as tg:
        start = time.perf_counter()
        await tg.start(writer.run)
        assert await writer.flush(600)
        elapsed = time.perf_counter() - start
        tg.cancel_scope.cancel()
    assert writer.written == len(records)
    return len(records) / elapsed


async def bench(label: str, db: Database) -> None:
    print(f"\n== {label}")
    for name, ms in (await measure_queries(db)).items():
        print(f"    {name:<48} {ms:9.2f} ms")
    for batching in (True, False):
        rate = await measure_writer(db, batching)
        print(
            f"    RecordWriter {'batched (500/txn)' if batching else 'unbatched (1/txn)':<35} "
            f"{rate:9.0f} rows/s"
        )


async def main() -> None:
    bin_dir = find_bin_dir()
    with tempfile.TemporaryDirectory() as tmp:
        sqlite_path = Path(tmp) / "bench.db"
        sqlite_url = f"sqlite+aiosqlite:///{sqlite_path}"
        await migrate(sqlite_url)
        start = time.perf_counter()
        load_sqlite(sqlite_path)
        print(f"SQLite loaded in {time.perf_counter() - start:.0f} s")
        async with Database(sqlite_url) as db:
            await bench(f"SQLite {sqlite3.sqlite_version}", db)

    if bin_dir is None:
        print("\nPostgreSQL binaries not found: run `bash hack/system-deps.sh`")
        return
    with PostgresServer(bin_dir) as server:
        url = server.create_database("bench")
        await migrate(url)
        start = time.perf_counter()
        async with Database(url) as db:
            await load_postgres(db)
            print(f"\nPostgreSQL loaded in {time.perf_counter() - start:.0f} s")
            version = await (await db.engine.connect()).execute(text("SHOW server_version"))
            await bench(f"PostgreSQL {version.scalar_one()} (fsync off)", db)


if __name__ == "__main__":
    anyio.run(main)
