"""REST throughput at size, as ratios to a bare endpoint of the same server, driven by wrk.

Run: ``.venv/bin/python bench/rest_throughput.py [--databases sqlite,postgresql]
[--days 1,30] [--rounds 4] [--slice 4] 2>bench.log`` (``make bench-deps`` installs wrk;
Debian package ``wrk``).

Set-up, once per run: a local control plane (or ``KUBECONFIG``), ``--webapps`` WebApps
in one namespace. Then per database kind, one database per retention in ``--days``,
alike but for the samples: ``--history`` change-history rows per WebApp, the latest
value of every series, and that many days of metric samples at ``--sample-interval``
seconds (default: the settings' sampling interval, i.e. what the reconciler writes) for
each of the three series of the first ``--series-webapps`` WebApps. The samples are
generated in the database (no Python loop) up to now, and kept up to now between rounds,
so every measured 5-minute window is full; the serving process hears of those writes as
of the record writer's (``db.changes``: its views keep what they read until a write or
the window's oldest sample leaving it), so each round starts with its reads undone.
Each database is served by its own kubeweft process (API only, no controller) in this
interpreter, set up as ``kubeweft run`` sets it up (uvloop, the GIL switch interval:
``kubeweft.app.run_options``); the load comes from ``wrk`` (one thread,
``--connections`` connections, ``--slice`` seconds per slice).

The figures are measured in ``--rounds`` interleaved rounds. A round measures, one slice
each, every database's GET detail (rotating over the WebApps with series) right after a
bare endpoint of the same process returning a prebuilt body of the detail's size, then
every database's GET list ``limit=1000`` right after a bare endpoint of the list's size;
the databases take turns going first. It prints, per database, requests/s, p50/p99 and:

* detail / bare, the median over rounds of the ratio in each round (goal: >= 50%);
* list / bare, the same (goal: >= 25%);
* wrk's own CPU (user + system over the slice, of its one thread): well under 100% means
  the load generator is not what limits the figure;

and, for the longest retention against the shortest, detail and list requests/s as the
median over rounds of their ratio within each round (goal: 90-110%), with the rounds'
spread, and the same for the bare endpoint as the noise's yardstick. Adjacent slices see
the same load from elsewhere on the machine, so the ratios hold where the absolute
figures do not.

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
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.support

from _environment import api_settings

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
    from sqlalchemy import text, update

    from kubeweft.db.changes import CHANNEL, EVERYTHING
    from kubeweft.db.tables import MetricLatest

    now = datetime.now(UTC)
    steps = int((now - newest).total_seconds() // interval)
    if steps == 0:
        return newest
    await add_samples(database, now, interval, 0, steps)
    async with database.engine.begin() as conn:
        await conn.execute(update(MetricLatest).values(ts=now))
        if database.dialect == "postgresql":
            # As every write of records does (db.changes.notify): the serving process
            # keeps what it read until it hears of a write.
            await conn.execute(
                text("SELECT pg_notify(:channel, :payload)"),
                {"channel": CHANNEL, "payload": EVERYTHING},
            )
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


@dataclass
class Dataset:
    """One database of the run, served by its own process: ``days`` of samples."""

    days: int
    loader: Any  # the Database that writes the samples
    newest: datetime
    base: str = ""
    bare: dict[str, bytes] = field(default_factory=dict)  # the process's prebuilt bodies
    bare_detail: list[Figures] = field(default_factory=list)  # one per round
    detail: list[Figures] = field(default_factory=list)
    bare_list: list[Figures] = field(default_factory=list)
    listing: list[Figures] = field(default_factory=list)


LIST_PATH = f"/api/webapps/{NAMESPACE}?limit=1000"


async def _slice(base: str, paths: list[str], args: argparse.Namespace) -> Figures:
    return await anyio.to_thread.run_sync(wrk, base, paths, args.connections, args.slice_s)


async def rounds(datasets: list[Dataset], details: list[str], args: argparse.Namespace) -> None:
    """``--rounds`` rounds; in each, every dataset's detail and its bare twin, then every
    dataset's list and its bare twin, one slice each. The datasets take turns going first
    (ABBA), so a drift of the machine's load weighs on each alike."""
    for number in range(args.rounds):
        order = datasets if number % 2 == 0 else datasets[::-1]
        for data in order:
            data.newest = await keep_sampling(data.loader, args.sample_interval, data.newest)
        for bare_path, target, pick in (
            ("/bench/bare/detail", details, lambda d: (d.bare_detail, d.detail)),
            ("/bench/bare/list", [LIST_PATH], lambda d: (d.bare_list, d.listing)),
        ):
            for data in order:
                bare_runs, runs = pick(data)
                bare_runs.append(await _slice(data.base, [bare_path], args))
                runs.append(await _slice(data.base, target, args))


def _ratio(runs: list[Figures], of: list[Figures]) -> float:
    """The median over rounds of ``runs``' requests/s over ``of``'s in the same round."""
    return statistics.median(r.rps / b.rps for r, b in zip(runs, of, strict=True))


def _spread(runs: list[Figures], of: list[Figures]) -> str:
    ratios = sorted(r.rps / b.rps for r, b in zip(runs, of, strict=True))
    return f"rounds {100 * ratios[0]:.0f}-{100 * ratios[-1]:.0f}%"


def report(label: str, datasets: list[Dataset], series: int, server_cpu: float) -> None:
    for data in datasets:
        print(
            f"\n  {label}: {data.days} day(s) of samples for {series:,} of the WebApps", flush=True
        )
        print(_row(f"bare ({len(data.bare['detail']):,} B)", _pooled(data.bare_detail)))
        print(_row("GET detail", _pooled(data.detail), _ratio(data.detail, data.bare_detail)))
        print(_row(f"bare ({len(data.bare['list']):,} B)", _pooled(data.bare_list)))
        list_ratio = _ratio(data.listing, data.bare_list)
        print(_row("GET list limit=1000", _pooled(data.listing), list_ratio), flush=True)
    first, last = datasets[0], datasets[-1]
    if first is not last:
        print(
            f"\n  {label}, {last.days} days against {first.days} (median over rounds of the "
            "requests/s in the same round; goal 4: 90-110%)",
            flush=True,
        )
        for what, a, b in (
            ("GET detail", last.detail, first.detail),
            ("GET list limit=1000", last.listing, first.listing),
            ("bare (detail size)", last.bare_detail, first.bare_detail),
        ):
            print(f"    {what:<28} {100 * _ratio(a, b):6.1f}%  ({_spread(a, b)})", flush=True)
    print(f"    server process CPU over the rounds: {100 * server_cpu:.0f}% of one core")


async def prepare(
    database: Any, made: list[tuple[str, str]], days: int, args: argparse.Namespace
) -> Dataset:
    """History, latest values and ``days`` of samples (every ``--sample-interval``) for the
    first ``--series-webapps`` WebApps, ending now."""
    interval = args.sample_interval
    anchor = datetime.now(UTC)
    started = time.perf_counter()
    await write_history(database, made, args.history)
    await setup_series(database, made, args.series_webapps)
    await write_latest(database, made, anchor)
    steps = round(days * 86_400 / interval)
    await add_samples(database, anchor, interval, 0, steps)
    rows = args.series_webapps * len(METRIC_NAMES) * steps
    print(
        f"  {days} day(s): {len(made):,} WebApps x {args.history} history rows, "
        f"{rows:,} samples every {interval:g}s for {args.series_webapps:,} of them "
        f"(written in {time.perf_counter() - started:.0f}s)",
        flush=True,
    )
    return Dataset(days, database, anchor)


async def bench_dialect(
    label: str,
    urls: list[str],
    kubeconfig: Path,
    made: list[tuple[str, str]],
    args: argparse.Namespace,
) -> None:
    """One database per retention in ``--days``, each served by its own process in this
    interpreter, measured in interleaved rounds."""
    from kubeweft.db.engine import Database
    from kubeweft.db.migrate import migrate
    from kubeweft.runtime.client import Client

    print(f"\n{label}", flush=True)
    details = [f"/api/webapps/{NAMESPACE}/{name}" for name, _ in made[: args.series_webapps]]
    async with contextlib.AsyncExitStack() as stack:
        datasets: list[Dataset] = []
        for days, url in zip(args.days, urls, strict=True):
            settings = api_settings(kubeconfig, url)
            await migrate(url)
            loader = Database(url).connect()  # no statement timeout: it writes millions of rows
            stack.push_async_callback(loader.aclose)
            database = Database(
                url,
                statement_timeout=settings.database_statement_timeout_seconds,
                pool_size=settings.database_pool_size,
            )  # as `kubeweft run` makes it, for the process
            database.connect()
            stack.push_async_callback(database.aclose)
            client = Client.from_settings(settings)
            stack.push_async_callback(client.aclose)
            data = await prepare(loader, made, days, args)
            data.base, data.bare = await stack.enter_async_context(
                serving(settings, database, client)
            )
            async with httpx.AsyncClient(base_url=data.base, timeout=60) as http:
                # The same bytes, prebuilt.
                data.bare["detail"] = (await http.get(details[0])).content
                data.bare["list"] = (await http.get(LIST_PATH)).content
            datasets.append(data)
        before = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        await rounds(datasets, details, args)
        after = resource.getrusage(resource.RUSAGE_SELF)
        used = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        report(label, datasets, args.series_webapps, used / (time.perf_counter() - started))


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
                urls = [f"sqlite+aiosqlite:///{tmp / f'bench-{days}d.db'}" for days in args.days]
                await bench_dialect("SQLite", urls, kubeconfig, made, args)
            else:
                from tests.support.postgres import PostgresServer, find_bin_dir

                bin_dir = find_bin_dir()
                if bin_dir is None:
                    sys.exit("PostgreSQL binaries not found (Debian package postgresql)")
                server = stack.enter_context(PostgresServer(bin_dir))
                urls = [server.create_database(f"bench_{days}d") for days in args.days]
                await bench_dialect("PostgreSQL", urls, kubeconfig, made, args)


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
    parser.add_argument(
        "--rounds", type=int, default=4, help="interleaved rounds (one slice per figure each)"
    )
    parser.add_argument("--slice", dest="slice_s", type=int, default=4, help="seconds per slice")
    arguments = parser.parse_args()
    if arguments.series_webapps is None:
        arguments.series_webapps = arguments.webapps
    if arguments.sample_interval is None:
        arguments.sample_interval = _interval()
    from kubeweft.app import run_options

    anyio.run(main, arguments, backend_options=run_options())  # as `kubeweft run` does
