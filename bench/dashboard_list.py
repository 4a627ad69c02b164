"""The dashboard's sorted, filtered page of 50 against a detail view, at 10,000 objects.

Run: ``.venv/bin/python bench/dashboard_list.py [--objects 10000] [--seconds 6] [--http 12]``

What is measured: requests per second, one request at a time, of the app as
``kubeweft run`` builds it (``rest.create_app`` + ``ui.install_dashboard``), called in
this process through httpx's ASGI transport, and with ``--http SECONDS`` also over HTTP
(uvicorn in this process, ``wrk`` loading it; ``make bench-deps`` installs wrk). The
cluster side is a synced informer store holding ``--objects`` parsed WebApps in 20
namespaces, read through the ``CacheReader`` a process uses (so the dashboard's table
index is fed from the store's event handlers); the record store is in memory. So the
figures are the framework's own cost per request — cache read, filter, sort, page,
render — without token review or database time, which a list page and a detail view pay
alike. Figures:

* ``ui list``: ``/ui/webapps?sort=spec.replicas&order=desc&filter=spec.image=…``, the
  first page of 50 (a tenth of the objects match each of the ten filters), the ten
  pages in turn — as a page left open fetches itself again after every change;
* ``ui list, cold rows``: every page of every filter in turn, so each row is rendered
  afresh (more rows than the rendered-row cache keeps);
* ``api detail``: ``GET /api/webapps/<ns>/<name>`` (rotating over objects);
* ``ui detail``: the dashboard's detail page of the same objects;
* ``ui list, no index`` (in-process only): ``ui list`` with the table reading every
  object of the cache on each request, as before the table index;
* the ratios ``api detail / ui list`` (the issue's goal: at most 2).

Each figure is measured in ``--slices`` alternating slices; the ratio is the median of
the slices' ratios. Compare figures of one run only.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.unit.rest

from tests.support.waiting import wait_until_async
from tests.unit.rest.conftest import build

from kubeweft.api import ObjectMeta
from kubeweft.logging import configure_logging
from kubeweft.settings import Settings
from kubeweft.ui import install_dashboard
from kubeweft.views import CacheReader

NAMESPACES = 20
IMAGES = 10


class Informer:
    """An informer's store of parsed objects, synced, with its event handlers."""

    def __init__(self, objects: list[Any]) -> None:
        self.objects = {(o.metadata.namespace, o.metadata.name): o for o in objects}
        self.handlers: list[Any] = []

    def add_event_handler(self, handler: Any) -> None:
        self.handlers.append(handler)
        for obj in self.objects.values():
            handler.on_add(obj, True)

    def get(self, namespace: str | None, name: str) -> Any | None:
        return self.objects.get((namespace, name))

    def list(self, namespace: str | None = None, label_selector: Any = None) -> list[Any]:
        found = self.objects.values()
        return [o for o in found if namespace is None or o.metadata.namespace == namespace]

    def has_synced(self) -> bool:
        return True


class Store:
    """The same store without event handlers: the table reads every object."""

    def __init__(self, informer: Informer) -> None:
        self.get, self.list, self.has_synced = informer.get, informer.list, informer.has_synced


class BenchCache:
    """The ``Cache`` a ``CacheReader`` reads (only synced informers here)."""

    def __init__(self, informer: Informer | Store) -> None:
        self.informer = informer

    def informer_for(self, kind: type[Any]) -> Informer | Store:
        return self.informer

    async def wait_for_resource_version(self, kind: type[Any], rv: str, timeout: float) -> bool:  # noqa: ASYNC109
        return True


async def rate(http: httpx.AsyncClient, urls: Callable[[int], str], seconds: float) -> float:
    done, deadline = 0, time.perf_counter() + seconds
    start = time.perf_counter()
    while time.perf_counter() < deadline:
        response = await http.get(urls(done))
        assert response.status_code == 200, (response.status_code, response.text[:300])
        done += 1
    return done / (time.perf_counter() - start)


async def main(
    objects: int, seconds: float, slices: int, http_seconds: float, connections: int
) -> None:
    settings = Settings(dev_user="bench")
    app, kube, _store, _authorizer, context = build(settings)
    model = context.models[0]  # WebApp, in the version the REST unit tests serve
    kube.lag = True  # fill the store, then publish the cache once
    for i in range(objects):
        meta = ObjectMeta(name=f"web-{i:05d}", namespace=f"ns-{i % NAMESPACES:02d}")
        spec = {"image": f"nginx:1.{i % IMAGES}", "replicas": i % 7}
        await kube.create(model.model_validate({"metadata": meta, "spec": spec}))
    kube.lag = False
    kube._publish()
    # An informer's store holds parsed objects; the test fake parses on every read, which
    # would dominate both figures, so its reads are replaced by a parsed store.
    parsed = kube.cache_list(model)
    now = datetime.now(UTC)
    for i, obj in enumerate(parsed):  # created over the last month, not all just now
        obj.metadata.creationTimestamp = now - timedelta(days=i % 30, minutes=i % 1440)
    informer = Informer(parsed)
    indexed = CacheReader(BenchCache(informer), kube, context.tracker, timeout=1.0)
    scanning = CacheReader(BenchCache(Store(informer)), kube, context.tracker, timeout=1.0)
    context.reader = indexed
    app = install_dashboard(app, settings, context)
    names = [(f"ns-{i % NAMESPACES:02d}", f"web-{i:05d}") for i in range(0, objects, 97)]
    query = "/ui/webapps?sort=spec.replicas&order=desc&filter=spec.image%3Dnginx:1."
    pages = -(-objects // IMAGES // 50)
    paths: dict[str, Callable[[int], str]] = {
        # the first page of each of the IMAGES filters, over and over (a page left open
        # fetches itself again after each change)
        "ui list": lambda n: f"{query}{n % IMAGES}",
        # every page of every filter in turn: each row rendered afresh
        "ui list, cold rows": lambda n: f"{query}{n % IMAGES}&page={n // IMAGES % pages + 1}",
        "api detail": lambda n: "/api/webapps/{}/{}".format(*names[n % len(names)]),
        "ui detail": lambda n: "/ui/webapps/{}/{}".format(*names[n % len(names)]),
    }
    figures: dict[str, list[float]] = {name: [] for name in [*paths, "ui list, no index"]}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
        listed = await http.get(paths["ui list"](3))
        rows = listed.text.count("<tr>") - 1
        print(f"{objects} WebApps; the list page shows {rows} rows", file=sys.stderr)
        for _ in range(slices):
            for name, urls in paths.items():
                figures[name].append(await rate(http, urls, seconds / slices))
            context.reader = scanning
            figures["ui list, no index"].append(
                await rate(http, paths["ui list"], seconds / slices)
            )
            context.reader = indexed
    print("in this process, through httpx's ASGI transport (no HTTP):")
    report(figures, slices)
    if http_seconds:
        await over_http(app, paths, objects, http_seconds, slices, connections)


def report(figures: dict[str, list[float]], slices: int) -> None:
    for name, values in figures.items():
        print(f"{name:>19}: {statistics.median(values):8.1f} requests/s (median of {slices})")
    notes = {"ui list": "goal: at most 2", "ui list, cold rows": "rows never rendered before"}
    for name, note in notes.items():
        ratios = [d / u for d, u in zip(figures["api detail"], figures[name], strict=True)]
        print(f"api detail / {name}: {statistics.median(ratios):.1f}x ({note})")


async def over_http(
    app: Any,
    paths: dict[str, Callable[[int], str]],
    objects: int,
    seconds: float,
    slices: int,
    connections: int,
) -> None:
    """The same figures over HTTP: uvicorn serving the app in this process, wrk loading it."""
    from rest_throughput import wrk  # bench/ is this script's directory

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    figures: dict[str, list[float]] = {name: [] for name in paths}
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve)

        async def started() -> bool:
            return server.started

        await wait_until_async(started, what="the HTTP server to start")
        base = f"http://127.0.0.1:{port}"
        for _ in range(slices):
            for name, urls in paths.items():
                rotation = [urls(n) for n in range(200)]
                measured = await anyio.to_thread.run_sync(
                    wrk, base, rotation, connections, max(1, round(seconds / slices))
                )
                assert measured.errors == 0, (name, measured)
                figures[name].append(measured.rps)
        server.should_exit = True
    print(f"over HTTP (uvicorn in this process, wrk -t1 -c{connections}):")
    report(figures, slices)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--slices", type=int, default=3)
    parser.add_argument(
        "--http", type=float, default=0.0, help="seconds of wrk per figure (0: no HTTP run)"
    )
    parser.add_argument("--connections", type=int, default=4, help="wrk connections")
    args = parser.parse_args()
    configure_logging("WARNING", "console")
    anyio.run(main, args.objects, args.seconds, args.slices, args.http, args.connections)
