"""The dashboard's sorted, filtered page of 50 against a detail view, at 10,000 objects.

Run: ``.venv/bin/python bench/dashboard_list.py [--objects 10000] [--seconds 6]``

What is measured: requests per second, one request at a time, of the app as
``kubeweft run`` builds it (``rest.create_app`` + ``ui.install_dashboard``), called in
this process through httpx's ASGI transport. The cluster side is the REST unit tests'
in-memory cache holding ``--objects`` parsed WebApps in 20 namespaces (as an informer's
store holds them); the record store is in memory. So the figures are the framework's own
cost per request — cache read, filter, sort, page, render — without network, token
review or database time, which a
list page and a detail view pay alike. Figures:

* ``ui list``: ``/ui/webapps?sort=spec.replicas&order=desc&filter=spec.image=…``, the
  first page of 50 (about a tenth of the objects match the filter);
* ``api detail``: ``GET /api/webapps/<ns>/<name>`` (rotating over objects);
* ``ui detail``: the dashboard's detail page of the same objects;
* the ratio ``api detail / ui list`` (the issue's goal: at most 2).

Each figure is measured in ``--slices`` alternating slices; the ratio is the median of
the slices' ratios. Compare figures of one run only.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import anyio
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.unit.rest

from tests.unit.rest.conftest import build

from kubeweft.api import ObjectMeta
from kubeweft.examples.webapp.api.v1alpha1 import WebApp, WebAppSpec
from kubeweft.logging import configure_logging
from kubeweft.settings import Settings
from kubeweft.ui import install_dashboard

NAMESPACES = 20
IMAGES = 10


async def rate(http: httpx.AsyncClient, urls: Callable[[int], str], seconds: float) -> float:
    done, deadline = 0, time.perf_counter() + seconds
    start = time.perf_counter()
    while time.perf_counter() < deadline:
        response = await http.get(urls(done))
        assert response.status_code == 200, (response.status_code, response.text[:300])
        done += 1
    return done / (time.perf_counter() - start)


async def main(objects: int, seconds: float, slices: int) -> None:
    settings = Settings(dev_user="bench")
    app, kube, _store, _authorizer, context = build(settings)
    kube.lag = True  # fill the store, then publish the cache once
    for i in range(objects):
        meta = ObjectMeta(name=f"web-{i:05d}", namespace=f"ns-{i % NAMESPACES:02d}")
        spec = WebAppSpec(image=f"nginx:1.{i % IMAGES}", replicas=i % 7)
        await kube.create(WebApp(metadata=meta, spec=spec))
    kube.lag = False
    kube._publish()
    # An informer's store holds parsed objects; the test fake parses on every read, which
    # would dominate both figures, so its reads are replaced by a parsed store.
    parsed = kube.cache_list(WebApp)
    by_key = {(o.metadata.namespace, o.metadata.name): o for o in parsed}
    kube.cache_list = lambda kind, namespace=None, *, label_selector=None: [  # type: ignore[method-assign]
        o for o in parsed if namespace is None or o.metadata.namespace == namespace
    ]
    kube.cache_get = lambda kind, name, namespace=None: by_key.get((namespace, name))  # type: ignore[method-assign]
    app = install_dashboard(app, settings, context)
    names = [(f"ns-{i % NAMESPACES:02d}", f"web-{i:05d}") for i in range(0, objects, 97)]
    figures: dict[str, list[float]] = {"ui list": [], "api detail": [], "ui detail": []}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
        listed = await http.get(
            "/ui/webapps?sort=spec.replicas&order=desc&filter=spec.image%3Dnginx:1.3"
        )
        rows = listed.text.count("<tr>") - 1
        print(f"{objects} WebApps; the list page shows {rows} rows", file=sys.stderr)
        for _ in range(slices):
            figures["ui list"].append(
                await rate(
                    http,
                    lambda n: (
                        "/ui/webapps?sort=spec.replicas&order=desc"
                        f"&filter=spec.image%3Dnginx:1.{n % IMAGES}"
                    ),
                    seconds / slices,
                )
            )
            figures["api detail"].append(
                await rate(
                    http,
                    lambda n: "/api/webapps/{}/{}".format(*names[n % len(names)]),
                    seconds / slices,
                )
            )
            figures["ui detail"].append(
                await rate(
                    http,
                    lambda n: "/ui/webapps/{}/{}".format(*names[n % len(names)]),
                    seconds / slices,
                )
            )
    for name, values in figures.items():
        print(f"{name:>11}: {statistics.median(values):8.1f} requests/s (median of {slices})")
    ratios = [d / u for d, u in zip(figures["api detail"], figures["ui list"], strict=True)]
    print(f"api detail / ui list: {statistics.median(ratios):.1f}x (goal: at most 2)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--slices", type=int, default=3)
    args = parser.parse_args()
    configure_logging("WARNING", "console")
    anyio.run(main, args.objects, args.seconds, args.slices)
