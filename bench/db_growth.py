"""Database growth: rows written per WebApp per day at steady state, measured.

Run: ``.venv/bin/python bench/db_growth.py [--webapps 20] [--hours 6]``.

The real WebApp reconciler, wrapped as ``kubeweft.App`` wraps it (``LoggedReconciler``:
reconcile log, history, metric samples through ``controllerutil.sampling``), runs on
an in-memory cluster whose Deployments report every replica ready, under a simulated
clock: each WebApp is reconciled again when its ``requeue_after`` says, as the work
queue would, with no other event (steady state: nothing changes). Every record the
framework submits is stored with the real statements (``db.records.write_records``) in
a SQLite file: first what was submitted during a one-hour warm-up (creation, first
rollout), then what was submitted during ``--hours`` of simulated steady state, and the
rows each table gained in the second step are counted. Rows per WebApp per day are that
count divided by the WebApps and multiplied by 24 / hours: an extrapolation from a
steady window, which is periodic with the requeue interval, so a few hours suffice.

Two configurations in the same run:

* **fixed stream** — what kubeweft did before: a reconcile every 30 s writing every
  reported value (here the two replica metrics; the old reconciler also wrote a third,
  ``reconcile_seconds``, so its real figure was higher still);
* **changes + heartbeat** — the defaults now: a value is written when it changes and
  otherwise every ``KUBEWEFT_METRIC_SAMPLE_INTERVAL_SECONDS`` (240 s), which is also
  the WebApp's requeue interval;
* the same with a one-hour interval, the lever for a deployment that can live with a
  detail view whose five-minute metrics window is often empty (the list's latest values
  stay, ``metric_latest``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.support

from tests.support.fake_client import FakeClient

from kubeweft.controllerutil.reconcile_log import LoggedReconciler, LoggedReconcilerOptions
from kubeweft.db import tables
from kubeweft.db.engine import Database
from kubeweft.db.migrate import migrate
from kubeweft.db.records import Record, write_records
from kubeweft.examples.webapp.api.v1 import WebApp
from kubeweft.examples.webapp.controllers import WebAppReconciler, WebAppReconcilerOptions
from kubeweft.logging import configure_logging
from kubeweft.repositories.unit_of_work import unit_of_work
from kubeweft.runtime.reconcile import Request
from kubeweft.settings import Settings

START = datetime(2026, 5, 1, tzinfo=UTC)
WARM_UP = timedelta(hours=1)
TABLES = {
    "reconcile_log": tables.ReconcileLog,
    "metric_samples": tables.MetricSampleRow,
    "metric_latest": tables.MetricLatest,
    "change_history": tables.ChangeHistory,
}


@dataclass(frozen=True)
class Config:
    name: str
    requeue_after: float
    heartbeat: timedelta


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return (self.now - START).total_seconds()


class Collected:
    """The records submitted, split at the end of the warm-up."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.warm_up: list[Record] = []
        self.steady: list[Record] = []

    def submit(self, record: Record) -> None:
        late = self.clock.now >= START + WARM_UP
        (self.steady if late else self.warm_up).append(record)


def ready(data: dict[str, Any]) -> None:
    """What the Deployment controller and kwok do: every replica ready."""
    replicas = data["spec"].get("replicas", 1)
    data["status"] = {
        "observedGeneration": data["metadata"]["generation"],
        "replicas": replicas,
        "updatedReplicas": replicas,
        "readyReplicas": replicas,
        "availableReplicas": replicas,
    }


async def simulate(config: Config, webapps: int, hours: float) -> Collected:
    """Records submitted while ``webapps`` WebApps are reconciled for warm-up + ``hours``."""
    clock, cluster = Clock(), FakeClient()
    sink = Collected(clock)
    for i in range(webapps):
        name = f"app-{i}"
        body = {"metadata": {"name": name, "namespace": "default"}, "spec": {"image": "nginx:1"}}
        cluster.put(WebApp.model_validate({**body, "spec": {"image": "nginx:1", "replicas": 2}}))
        cluster.edit(
            "WebApp",
            name,
            lambda d: d["metadata"].update(uid=f"uid-{d['metadata']['name']}", generation=1),
        )
    inner = WebAppReconciler(
        cluster, cluster, options=WebAppReconcilerOptions(config.requeue_after, now=clock)
    )
    options = LoggedReconcilerOptions(
        now=clock, monotonic=clock.monotonic, sample_heartbeat=config.heartbeat
    )
    reconciler = LoggedReconciler(inner, WebApp, cluster, sink, options)
    due = {f"app-{i}": START for i in range(webapps)}
    end = START + WARM_UP + timedelta(hours=hours)
    while True:
        name, when = min(due.items(), key=lambda item: item[1])
        if when >= end:
            return sink
        clock.now = when
        result = await reconciler.reconcile(Request("default", name))
        if cluster.writes and cluster.writes[-1] == ("create", "Service", name):
            cluster.edit("Deployment", name, ready)  # the rollout completes: an event
            due[name] = when + timedelta(seconds=1)
            continue
        delay = 1.0 if result.requeue else (result.requeue_after or config.requeue_after)
        due[name] = when + timedelta(seconds=delay)


async def store(database: Database, records: list[Record]) -> dict[str, int]:
    """Write ``records`` as the record writer does; the rows each table has after."""
    for start in range(0, len(records), 5000):
        async with unit_of_work(database) as session:
            await write_records(session, records[start : start + 5000])
    async with database.session() as session:
        return {
            table: int((await session.execute(select(func.count()).select_from(row))).scalar_one())
            for table, row in TABLES.items()
        }


async def rows_per_day(collected: Collected, webapps: int, hours: float) -> dict[str, float]:
    """Rows per WebApp per day per table, from the rows the steady state added."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/growth.db"
        await migrate(url)
        async with Database(url) as database:
            before = await store(database, collected.warm_up)
            after = await store(database, collected.steady)
    return {table: (after[table] - before[table]) / webapps * 24 / hours for table in TABLES}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--webapps", type=int, default=20)
    parser.add_argument("--hours", type=float, default=6.0)
    args = parser.parse_args()
    configure_logging("WARNING")
    interval = Settings().metric_sample_interval_seconds
    configs = [
        Config("fixed stream (30 s, every reconcile)", 30.0, timedelta(microseconds=1)),
        Config(f"changes + heartbeat ({interval:.0f} s)", interval, timedelta(seconds=interval)),
        Config("changes + heartbeat (3600 s)", 3600.0, timedelta(hours=1)),
    ]
    print(f"{args.webapps} WebApps, {args.hours:g} h of steady state after a 1 h warm-up")
    print("rows added per WebApp per day (metric_latest is updated in place: no new rows)")
    print(f"{'configuration':<40} {'reconcile_log':>14} {'metric_samples':>15} {'history':>8}")
    totals = []
    for config in configs:
        collected = await simulate(config, args.webapps, args.hours)
        per_day = await rows_per_day(collected, args.webapps, args.hours)
        total = sum(per_day.values())
        totals.append(total)
        print(
            f"{config.name:<40} {per_day['reconcile_log']:>14.0f} "
            f"{per_day['metric_samples']:>15.0f} {per_day['change_history']:>8.0f}"
            f"   total {total:.0f} ({per_day['metric_latest']:.0f} new metric_latest rows)"
        )
    print(
        f"rows per WebApp per day: {totals[1]:.0f} now vs {totals[0]:.0f} "
        f"({totals[0] / totals[1]:.1f}x fewer); per 1,000 WebApps: {totals[1] * 1000:,.0f}/day"
    )


if __name__ == "__main__":
    anyio.run(main)
