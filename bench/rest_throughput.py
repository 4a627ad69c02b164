"""REST throughput at size, as ratios to a bare endpoint of the same server, driven by wrk.

Run: ``.venv/bin/python bench/rest_throughput.py [--databases sqlite,postgresql]
[--days 1,7,30] 2>bench.log`` (``make bench-deps`` installs wrk; Debian package ``wrk``).

Set-up, once per run: a local control plane (or ``KUBECONFIG``), ``--webapps`` WebApps
in one namespace. Then per database: ``--history`` change-history rows per WebApp, and
metric samples at ``--sample-interval`` seconds (default: the settings' sampling
interval, i.e. what the reconciler writes) for each of ``--metrics`` series of the
first ``--series-webapps`` WebApps (the others have their latest values only). The
samples are generated in the database (no Python loop) and end an hour after the set-up,
so every measured 5-minute window is full. The kubeweft process serves in this
interpreter without the controller, set up as ``kubeweft run`` sets it up (uvloop, the
GIL switch interval: ``kubeweft.app.run_options``); the load comes from ``wrk`` (one
thread, ``--connections`` connections, ``--duration`` seconds per figure).

For each retention in ``--days`` (ascending; older samples are added between steps, the
rest of the data stays) it prints requests/s and p50/p99 of:

* GET detail (rotating over the WebApps with series) and a bare endpoint of the same
  server returning a prebuilt body of the detail's size — and their ratio (goal: ≥ 50%);
* GET list ``limit=1000`` and a bare endpoint with a body of the list's size — ratio
  (goal: ≥ 25%);
* wrk's own CPU (user + system over the run, of its one thread): well under 100% means
  the load generator is not what limits the figure.

Each figure and its bare twin are measured in ``--slices`` alternating slices of
``--duration``/``--slices`` seconds; the ratio is the median of the slices' ratios, so
load from elsewhere on the machine weighs on both sides alike.

Compare the rows of one run; figures from different machines or runs do not compare.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.support

NAMESPACE = "bench"
# What the WebApp reconciler samples on every reconcile (controllers/webapp.py).
METRIC_NAMES = ("ready_replicas", "desired_replicas", "reconcile_seconds")


@dataclass(frozen=True)
class Figures:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    wrk_cpu: float  # fraction of one core


# --- wrk -----------------------------------------------------------------------------------

_LUA = """
paths = {%s}
i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
"""


def _millis(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def wrk(base: str, paths: list[str], connections: int, duration: int) -> Figures:
    """Run wrk (one thread) over ``paths`` in turn; its figures and its own CPU use."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_LUA % ", ".join(f'"{p}"' for p in paths))
    cmd = [
        "wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "30s",
        "-s", script.name, base,
    ]  # fmt: skip
    with tempfile.TemporaryFile("w+") as out:
        started = time.perf_counter()
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    os.unlink(script.name)
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed: {text}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))  # type: ignore[union-attr]
    p50 = _millis(re.search(r"\s50%\s+(\S+)", text).group(1))  # type: ignore[union-attr]
    p99 = _millis(re.search(r"\s99%\s+(\S+)", text).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    socket_errors = re.search(r"Socket errors: (.*)", text)
    errors = int(bad.group(1)) if bad else 0
    if socket_errors:
        errors += sum(int(n) for n in re.findall(r"\d+", socket_errors.group(1)))
    return Figures(rps, p50, p99, errors, (usage.ru_utime + usage.ru_stime) / elapsed)


# --- data ----------------------------------------------------------------------------------


async def create_webapps(client: Any, count: int) -> list[tuple[str, str]]:
    from lightkube.models.meta_v1 import ObjectMeta as CoreMeta
    from lightkube.resources.core_v1 import Namespace

    from kubeweft.api import ObjectMeta
    from kubeweft.examples.webapp.api.v1 import WebApp, WebAppSpec

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

    async with anyio.create_task_group() as tg:
        for i in range(count):
            tg.start_soon(create, i)
    return sorted(made)


async def write_history(database: Any, made: list[tuple[str, str]], per_app: int) -> None:
    from sqlalchemy import insert

    from kubeweft.db.tables import ChangeHistory

    now = datetime.now(UTC)
    rows = [
        {
            "uid": uid,
            "namespace": NAMESPACE,
            "name": name,
            "kind": "WebApp",
            "generation": g,
            "spec": {"image": f"nginx:{g}", "replicas": 2},
            "patch": None
            if g == 1
            else [{"op": "replace", "path": "/image", "value": f"nginx:{g}"}],
            "actor": "bench",
            "source": "api",
            "created_at": now - timedelta(hours=per_app - g),
        }
        for name, uid in made
        for g in range(1, per_app + 1)
    ]
    async with database.engine.begin() as conn:
        for start in range(0, len(rows), 5000):
            await conn.execute(insert(ChangeHistory), rows[start : start + 5000])


def _sample_sql(dialect: str) -> str:
    """Samples ``k`` in [first, last) steps of ``interval`` seconds before ``anchor``."""
    if dialect == "postgresql":
        return """
INSERT INTO metric_samples (uid, name, ts, value)
SELECT u.uid, m.name, CAST(:anchor AS timestamptz) - k * (:interval * interval '1 second'),
       (k * 7 % 1000) / 10.0
FROM bench_series AS u CROSS JOIN bench_metrics AS m
CROSS JOIN generate_series(CAST(:first AS bigint), CAST(:last AS bigint) - 1) AS k
"""
    return """
WITH RECURSIVE steps(k) AS (SELECT :first UNION ALL SELECT k + 1 FROM steps WHERE k + 1 < :last)
INSERT INTO metric_samples (uid, name, ts, value)
SELECT u.uid, m.name,
       strftime('%Y-%m-%d %H:%M:%f', :anchor, '-' || (k * :interval) || ' seconds') || '000',
       (k * 7 % 1000) / 10.0
FROM bench_series AS u CROSS JOIN bench_metrics AS m CROSS JOIN steps
"""


async def setup_series(database: Any, made: list[tuple[str, str]], series: int) -> None:
    from sqlalchemy import text

    async with database.engine.begin() as conn:
        await conn.execute(text("CREATE TABLE bench_series (uid VARCHAR(36))"))
        await conn.execute(text("CREATE TABLE bench_metrics (name VARCHAR(63))"))
        await conn.execute(
            text("INSERT INTO bench_series VALUES (:uid)"),
            [{"uid": uid} for _, uid in made[:series]],
        )
        await conn.execute(
            text("INSERT INTO bench_metrics VALUES (:name)"), [{"name": n} for n in METRIC_NAMES]
        )


async def add_samples(
    database: Any, anchor: datetime, interval: float, first: int, last: int
) -> None:
    """Every series' samples ``first`` to ``last`` steps of ``interval`` before ``anchor``."""
    from sqlalchemy import text

    sqlite_anchor = anchor.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    async with database.engine.begin() as conn:
        await conn.execute(
            text(_sample_sql(database.dialect)),
            {
                "anchor": anchor if database.dialect == "postgresql" else sqlite_anchor,
                "interval": interval,
                "first": first,
                "last": last,
            },
        )
        await conn.execute(text("ANALYZE"))


async def keep_sampling(database: Any, interval: float, newest: datetime) -> datetime:
    """Samples from ``newest`` up to now, as the reconciler would have written meanwhile
    (so each measured window is full); returns the new newest time."""
    from sqlalchemy import update

    from kubeweft.db.tables import MetricLatest

    now = datetime.now(UTC)
    steps = int((now - newest).total_seconds() // interval)
    if steps == 0:
        return newest
    await add_samples(database, now, interval, 0, steps)
    async with database.engine.begin() as conn:
        await conn.execute(update(MetricLatest).values(ts=now))
    return now


async def write_latest(database: Any, made: list[tuple[str, str]], anchor: datetime) -> None:
    """The newest value of every series of every WebApp (what a list page reads)."""
    from sqlalchemy import insert

    from kubeweft.db.tables import MetricLatest

    rows = [
        {"uid": uid, "name": name, "ts": anchor, "value": 1.0}
        for _, uid in made
        for name in METRIC_NAMES
    ]
    async with database.engine.begin() as conn:
        await conn.execute(insert(MetricLatest), rows)


# --- the server ----------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def serving(settings: Any, database: Any, client: Any) -> AsyncIterator[tuple[str, Any]]:
    """The kubeweft process (API only) plus ``/bench/bare/{name}``: prebuilt bodies."""
    from fastapi import Response

    from kubeweft.app import Process
    from kubeweft.examples.webapp import app

    process = Process(app, settings, database, client)
    assert process.api is not None
    bare: dict[str, bytes] = {}

    @process.api.app.get("/bench/bare/{name}")  # type: ignore[attr-defined]
    async def bare_body(name: str) -> Response:
        return Response(bare[name], media_type="application/json")

    async with anyio.create_task_group() as tg:
        await tg.start(process.run)
        try:
            yield process.info.api_url or "", bare
        finally:
            process.stop()


def _row(label: str, f: Figures, ratio_of_bare: float | None = None) -> str:
    ratio = f"  {100 * ratio_of_bare:5.1f}% of bare" if ratio_of_bare is not None else ""
    return (
        f"    {label:<28} {f.rps:8.0f} req/s  p50 {f.p50_ms:7.1f} ms  p99 {f.p99_ms:7.1f} ms"
        f"  wrk CPU {100 * f.wrk_cpu:3.0f}%  errors {f.errors}{ratio}"
    )


def _pooled(runs: list[Figures]) -> Figures:
    """Slices of one figure taken as one: requests/s and CPU averaged, p50 the median
    of the slices' p50, p99 the worst slice's."""
    return Figures(
        statistics.fmean(f.rps for f in runs),
        statistics.median(f.p50_ms for f in runs),
        max(f.p99_ms for f in runs),
        sum(f.errors for f in runs),
        statistics.fmean(f.wrk_cpu for f in runs),
    )


async def pair(
    base: str, bare_path: str, paths: list[str], args: argparse.Namespace
) -> tuple[Figures, Figures, float]:
    """The bare endpoint and ``paths`` in alternating slices (so load from elsewhere on
    the machine hits both alike); both pooled, and the median of the slices' ratios."""
    slice_s = max(1, args.duration // args.slices)
    bare_runs: list[Figures] = []
    runs: list[Figures] = []
    for _ in range(args.slices):
        for into, what in ((bare_runs, [bare_path]), (runs, paths)):
            into.append(await anyio.to_thread.run_sync(wrk, base, what, args.connections, slice_s))
    ratio = statistics.median(r.rps / b.rps for r, b in zip(runs, bare_runs, strict=True))
    return _pooled(bare_runs), _pooled(runs), ratio


async def measure(
    base: str, bare: dict[str, bytes], details: list[str], args: argparse.Namespace
) -> None:
    list_path = f"/api/webapps/{NAMESPACE}?limit=1000"
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        detail_body = (await http.get(details[0])).content
        list_body = (await http.get(list_path)).content
    bare["detail"], bare["list"] = detail_body, list_body  # the same bytes, prebuilt
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    bare_detail, detail, detail_ratio = await pair(base, "/bench/bare/detail", details, args)
    bare_list, listing, list_ratio = await pair(base, "/bench/bare/list", [list_path], args)
    after = resource.getrusage(resource.RUSAGE_SELF)
    server_cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / (
        time.perf_counter() - started
    )
    print(_row(f"bare ({len(detail_body):,} B)", bare_detail), flush=True)
    print(_row("GET detail", detail, detail_ratio), flush=True)
    print(_row(f"bare ({len(list_body):,} B)", bare_list), flush=True)
    print(_row("GET list limit=1000", listing, list_ratio), flush=True)
    print(f"    server process CPU over the four: {100 * server_cpu:.0f}% of one core", flush=True)


async def bench_database(
    label: str, url: str, kubeconfig: Path, made: list[tuple[str, str]], args: argparse.Namespace
) -> None:
    from kubeweft.db.engine import Database
    from kubeweft.db.migrate import migrate
    from kubeweft.runtime.client import Client
    from kubeweft.settings import Settings

    settings = Settings(
        kubeconfig=kubeconfig,
        database_url=url,
        dev_user="bench",
        api_port=0,
        probe_port=0,
        enable_controller=False,
        local_cluster=False,
        kubernetes_token_auth=False,
        log_level="WARNING",
    )
    await migrate(url)
    database = Database(url).connect()
    client = Client.from_settings(settings)
    interval = args.sample_interval
    per_day = round(86_400 / interval)
    anchor = datetime.now(UTC)
    try:
        await write_history(database, made, args.history)
        await setup_series(database, made, args.series_webapps)
        await write_latest(database, made, anchor)
        series = made[: args.series_webapps]
        details = [f"/api/webapps/{NAMESPACE}/{name}" for name, _ in series]
        done, newest = 0, anchor
        async with serving(settings, database, client) as (base, bare):
            for days in args.days:
                started = time.perf_counter()
                await add_samples(database, anchor, interval, done, days * per_day)
                rows = len(series) * len(METRIC_NAMES) * (days * per_day - done)
                done = days * per_day
                newest = await keep_sampling(database, interval, newest)
                print(
                    f"\n  {label}: {len(made):,} WebApps x {args.history} history rows; "
                    f"{days} day(s) of samples every {interval:g}s for {len(series):,} of them "
                    f"({rows:,} rows added in {time.perf_counter() - started:.0f}s)",
                    flush=True,
                )
                await measure(base, bare, details, args)
    finally:
        await client.aclose()
        await database.aclose()


async def main(args: argparse.Namespace) -> None:
    from kubeweft.localcluster import LocalCluster
    from kubeweft.logging import configure_logging
    from kubeweft.runtime.client import Client
    from kubeweft.settings import Settings

    configure_logging("WARNING", "json")
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: make bench-deps (Debian package wrk)")
    async with contextlib.AsyncExitStack() as stack:
        external = os.environ.get("KUBECONFIG")
        if external:
            kubeconfig = Path(external)
        else:
            cluster = await stack.enter_async_context(LocalCluster())
            kubeconfig = cluster.kubeconfig_path
        client = Client.from_settings(Settings(kubeconfig=kubeconfig, local_cluster=False))
        stack.push_async_callback(client.aclose)
        from kubeweft.app import ensure_crds
        from kubeweft.examples.webapp import app

        await ensure_crds(client, app.models, install=True, manager="bench")
        started = time.perf_counter()
        made = await create_webapps(client, args.webapps)
        print(f"created {len(made):,} WebApps in {time.perf_counter() - started:.0f}s")
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        for dialect in args.databases:
            if dialect == "sqlite":
                url = f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
                await bench_database("SQLite", url, kubeconfig, made, args)
            else:
                from tests.support.postgres import PostgresServer, find_bin_dir

                bin_dir = find_bin_dir()
                if bin_dir is None:
                    sys.exit("PostgreSQL binaries not found (Debian package postgresql)")
                server = stack.enter_context(PostgresServer(bin_dir))
                url = server.create_database("bench")
                await bench_database("PostgreSQL", url, kubeconfig, made, args)


def _interval() -> float:
    from kubeweft.settings import Settings

    return float(Settings.model_fields["metric_sample_interval_seconds"].default)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", default="sqlite,postgresql", type=lambda s: s.split(","))
    parser.add_argument("--webapps", type=int, default=1000)
    parser.add_argument("--history", type=int, default=100, help="history rows per WebApp")
    parser.add_argument(
        "--series-webapps", type=int, default=None, help="WebApps with samples (default: all)"
    )
    parser.add_argument(
        "--days",
        default="7",
        type=lambda s: sorted(int(d) for d in s.split(",")),
        help="retention steps, e.g. 1,30",
    )
    parser.add_argument("--sample-interval", type=float, default=None, help="seconds")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=int, default=12, help="seconds per figure")
    parser.add_argument(
        "--slices", type=int, default=4, help="alternating slices per figure and its bare twin"
    )
    arguments = parser.parse_args()
    if arguments.series_webapps is None:
        arguments.series_webapps = arguments.webapps
    if arguments.sample_interval is None:
        arguments.sample_interval = _interval()
    from kubeweft.app import run_options

    anyio.run(main, arguments, backend_options=run_options())  # as `kubeweft run` does
