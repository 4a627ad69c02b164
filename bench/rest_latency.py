"""REST latency at size: GET detail and list with 32 concurrent clients, against the
seed's literal detail (direct API-server GET, then one query per table) in the same run.

Run: ``.venv/bin/python bench/rest_latency.py [--postgres] [--requests N] 2>bench.log``

Set-up: a local control plane (started here unless ``KUBECONFIG`` points at one),
1,000 WebApps in one namespace, and per WebApp 100 deployment-history rows and 1,000
metric samples within the last 5 minutes (the detail view aggregates all of them), plus
``metric_latest`` rows for the list. The kubeweft process runs in this interpreter
without the controller (reads only); the load comes from a separate process (this
script with ``--load``) so client and server do not share an event loop.

Prints p50/p99 latency and requests/s for: kubeweft detail, the seed's detail, the
list (``limit=100`` and ``limit=1000``). Figures depend on the machine; compare rows
of one run, not runs on different machines.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.support

from _environment import api_settings

N_WEBAPPS = 1_000
HISTORY_PER_APP = 100
SAMPLES_PER_APP = 1_000
METRIC_NAMES = ("ready_replicas", "cpu_millicores")
CONCURRENCY = 32
NAMESPACE = "bench"


# --- load generator (a separate process) ---------------------------------------------------


async def _load(base: str, paths: list[str], total: int, concurrency: int) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    queue = iter(range(total))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:

        async def worker() -> None:
            nonlocal errors
            for i in queue:
                path = paths[i % len(paths)]
                start = time.perf_counter()
                response = await http.get(path)
                latencies.append(time.perf_counter() - start)
                if response.status_code != 200:
                    errors += 1

        for warm in paths[:concurrency]:
            await http.get(warm)
        began = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for _ in range(concurrency):
                tg.start_soon(worker)
        elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
        "rps": len(latencies) / elapsed,
        "errors": errors,
        "n": len(latencies),
    }


def load_main(argv: list[str]) -> None:
    base, total, concurrency = argv[0], int(argv[1]), int(argv[2])
    paths = json.loads(sys.stdin.read())
    print(json.dumps(anyio.run(_load, base, paths, total, concurrency)))


# --- set-up -------------------------------------------------------------------------------


async def seed(client: Any, database: Any) -> list[tuple[str, str]]:
    from lightkube.models.meta_v1 import ObjectMeta as CoreMeta
    from lightkube.resources.core_v1 import Namespace

    from kubeweft.api import ObjectMeta
    from kubeweft.db import records
    from kubeweft.examples.webapp.api.v1 import WebApp, WebAppSpec
    from kubeweft.repositories import unit_of_work

    with contextlib.suppress(Exception):
        await client.create(Namespace(metadata=CoreMeta(name=NAMESPACE)))
    made: list[tuple[str, str]] = []
    limiter = anyio.CapacityLimiter(32)

    async def create(i: int) -> None:
        async with limiter:
            obj = WebApp(
                metadata=ObjectMeta(
                    name=f"app-{i:04d}", namespace=NAMESPACE, labels={"tier": "web"}
                ),
                spec=WebAppSpec(image=f"nginx:{i}", replicas=2),
            )
            created = await client.create(obj)
            made.append((created.metadata.name, created.metadata.uid))

    started = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for i in range(N_WEBAPPS):
            tg.start_soon(create, i)
    print(f"  created {N_WEBAPPS} WebApps in {time.perf_counter() - started:.1f}s", flush=True)

    started = time.perf_counter()
    now = datetime.now(UTC)
    rng = random.Random(7)
    for name, uid in made:
        history = [
            records.HistoryRecord(
                uid=uid,
                namespace=NAMESPACE,
                name=name,
                kind="WebApp",
                generation=g,
                spec={"image": f"nginx:{g}", "replicas": 2},
                actor="bench",
                source="api",
                created_at=now - timedelta(hours=HISTORY_PER_APP - g),
            )
            for g in range(1, HISTORY_PER_APP + 1)
        ]
        per_name = SAMPLES_PER_APP // len(METRIC_NAMES)
        samples = [
            records.MetricSample(
                uid=uid,
                name=metric,
                value=rng.random() * 100,
                ts=now - timedelta(seconds=299 * (per_name - k) / per_name),
            )
            for metric in METRIC_NAMES
            for k in range(per_name)
        ]
        async with unit_of_work(database) as session:
            await records.write_history(session, history)
            await records.write_samples(session, samples)
    print(
        f"  wrote {N_WEBAPPS * HISTORY_PER_APP:,} history rows and "
        f"{N_WEBAPPS * SAMPLES_PER_APP:,} samples in {time.perf_counter() - started:.1f}s",
        flush=True,
    )
    return made


def add_seed_baseline(app: Any, client: Any, database: Any) -> None:
    """The seed's GetResourceDetail, literally: K8s GET, then one query per table."""
    from kubeweft.examples.webapp.api.v1 import WebApp
    from kubeweft.repositories import annotations, history, metrics

    @app.get("/bench/seed/webapps/{namespace}/{name}")
    async def seed_detail(namespace: str, name: str) -> dict[str, Any]:
        obj = await client.get(WebApp, name, namespace)
        uid = obj.metadata.uid
        async with database.session() as session:
            rows = await history.history_by_uid(session, uid, limit=10)
            series = await metrics.metric_series(
                session, uid, since=datetime.now(UTC) - timedelta(minutes=5)
            )
            notes = await annotations.annotations_for(session, uid)
        aggregates = {
            metric: {
                "latest": points[-1].value,
                "min": min(p.value for p in points),
                "max": max(p.value for p in points),
                "avg": sum(p.value for p in points) / len(points),
                "count": len(points),
            }
            for metric, points in series.items()
        }
        return {
            "uid": uid,
            "name": obj.metadata.name,
            "namespace": obj.metadata.namespace,
            "spec": obj.spec.model_dump(mode="json", by_alias=True),
            "status": obj.status.model_dump(mode="json", by_alias=True),
            "history": [
                {"generation": r.generation, "spec": r.spec, "actor": r.actor} for r in rows
            ],
            "metrics": aggregates,
            "annotations": [{"id": n.id, "body": n.body} for n in notes],
        }


async def measure(base: str, label: str, paths: list[str], total: int) -> None:
    result = await anyio.run_process(
        [sys.executable, __file__, "--load", base, str(total), str(CONCURRENCY)],
        input=json.dumps(paths).encode(),
    )
    figures = json.loads(result.stdout)
    print(
        f"  {label:<34} p50 {figures['p50_ms']:7.1f} ms   p99 {figures['p99_ms']:7.1f} ms   "
        f"{figures['rps']:7.0f} req/s   ({figures['n']} requests, {figures['errors']} errors)",
        flush=True,
    )


async def bench(kubeconfig: Path, database_url: str, total: int) -> None:
    from kubeweft.app import Process, ensure_crds
    from kubeweft.db.engine import Database
    from kubeweft.db.migrate import migrate
    from kubeweft.examples.webapp import app
    from kubeweft.runtime.client import Client

    settings = api_settings(kubeconfig, database_url)
    await migrate(database_url)
    database = Database(database_url).connect()
    client = Client.from_settings(settings)
    try:
        await ensure_crds(client, app.models, install=True, manager="bench")
        made = await seed(client, database)
        process = Process(app, settings, database, client)
        assert process.api is not None
        add_seed_baseline(process.api.app, client, database)  # type: ignore[arg-type]
        async with anyio.create_task_group() as tg:
            await tg.start(process.run)
            base = process.info.api_url or ""
            names = [name for name, _ in made]
            random.Random(1).shuffle(names)
            detail = [f"/api/webapps/{NAMESPACE}/{n}" for n in names]
            seed_paths = [f"/bench/seed/webapps/{NAMESPACE}/{n}" for n in names]
            await measure(base, "detail (kubeweft: cache + batched)", detail, total)
            await measure(base, "detail (seed: API GET + per table)", seed_paths, total)
            await measure(
                base,
                "list limit=100 (with metrics)",
                [f"/api/webapps/{NAMESPACE}?limit=100"],
                total // 4,
            )
            await measure(
                base,
                "list limit=1000 (with metrics)",
                [f"/api/webapps/{NAMESPACE}?limit=1000"],
                total // 20,
            )
            process.stop()
    finally:
        await client.aclose()
        await database.aclose()


async def main(args: argparse.Namespace) -> None:
    from kubeweft.localcluster import LocalCluster
    from kubeweft.logging import configure_logging

    # As in production: one JSON access-log line per request (to stderr; redirect it).
    configure_logging("INFO", "json")

    with tempfile.TemporaryDirectory() as tmp:
        targets: list[tuple[str, str]] = [
            ("SQLite", f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}")
        ]
        server = None
        if args.postgres:
            from tests.support.postgres import PostgresServer, find_bin_dir

            bin_dir = find_bin_dir()
            if bin_dir is None:
                print("PostgreSQL binaries not found; SQLite only")
            else:
                server = PostgresServer(bin_dir)
                server.__enter__()
                targets.append(("PostgreSQL", server.create_database("bench")))
        try:
            for label, url in targets:
                print(
                    f"\n== {label}: {N_WEBAPPS} WebApps x {HISTORY_PER_APP} history x "
                    f"{SAMPLES_PER_APP} samples, {CONCURRENCY} concurrent clients",
                    flush=True,
                )
                external = os.environ.get("KUBECONFIG")
                if external:
                    await bench(Path(external), url, args.requests)
                else:
                    async with LocalCluster() as cluster:
                        await bench(cluster.kubeconfig_path, url, args.requests)
        finally:
            if server is not None:
                server.__exit__(None, None, None)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--load":
        load_main(sys.argv[2:])
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true", help="also run against PostgreSQL")
    parser.add_argument("--requests", type=int, default=4000, help="requests per detail run")
    anyio.run(main, parser.parse_args())
