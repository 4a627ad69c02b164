"""``/metrics`` size after requests with random HTTP methods (label cardinality).

Run: ``.venv/bin/python bench/metrics_cardinality.py [--requests N] [--source DIR]``

Serves the REST app (on the in-memory fakes of ``tests/unit/rest``) with the real
uvicorn server, sends N requests (default 10,000) each with a random 12-letter method to
a matched route and to unmatched paths, then fetches ``/metrics`` from a probe server on
the same registry. Prints the size of ``/metrics`` and the number of HTTP metric series,
before and after. ``--source DIR`` imports kubeweft (and its tests) from another
checkout, e.g. the code before a fix: ``git worktree add /tmp/h2-old <commit>``.
"""

from __future__ import annotations

import argparse
import random
import string
import sys
from pathlib import Path

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--requests", type=int, default=10_000)
parser.add_argument("--concurrency", type=int, default=16)
parser.add_argument("--source", type=Path, default=Path(__file__).resolve().parents[1])
args = parser.parse_args()
sys.path[:0] = [str(args.source / "src"), str(args.source)]

import anyio  # noqa: E402
import httpx  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402
from tests.unit.rest.conftest import build  # noqa: E402

import kubeweft  # noqa: E402
from kubeweft.logging import configure_logging  # noqa: E402
from kubeweft.rest.probes import probe_app  # noqa: E402
from kubeweft.rest.server import HTTPServer  # noqa: E402
from kubeweft.runtime.metrics import REGISTRY  # noqa: E402


def _http_series(text: str) -> int:
    return sum(
        len(family.samples)
        for family in text_string_to_metric_families(text)
        if family.name.startswith("kubeweft_http_")
    )


async def main() -> None:
    configure_logging("WARNING", "console")
    rng = random.Random(1)
    methods = ["".join(rng.choices(string.ascii_uppercase, k=12)) for _ in range(args.requests)]
    api = HTTPServer(build()[0], name="api", host="127.0.0.1", port=0, drain_timeout=1)
    probes = HTTPServer(
        probe_app(liveness=[], readiness=[], registry=REGISTRY),
        name="probes",
        host="127.0.0.1",
        port=0,
        drain_timeout=1,
    )
    async with anyio.create_task_group() as group:
        await group.start(api.run)
        await group.start(probes.run)
        limits = httpx.Limits(max_connections=args.concurrency)
        async with (
            httpx.AsyncClient(base_url=api.url, limits=limits) as http,
            httpx.AsyncClient(base_url=probes.url) as probe_http,
        ):
            # Warm-up: one request of each kind the load sends, so "before" has their series.
            await http.get("/api/webapps")
            await http.request("WARMUP", "/api/webapps")
            await http.request("WARMUP", "/x/warm-up")
            first = (await probe_http.get("/metrics")).text
            queue = iter(enumerate(methods))
            failures: list[str] = []
            started = anyio.current_time()

            async def client() -> None:
                for index, method in queue:
                    path = "/api/webapps" if index % 2 else f"/x/{index}"
                    try:
                        await http.request(method, path)
                    except httpx.TransportError as error:
                        failures.append(f"{index} {anyio.current_time() - started:.1f}s {error!r}")

            async with anyio.create_task_group() as load:
                for _ in range(args.concurrency):
                    load.start_soon(client)
            last = (await probe_http.get("/metrics")).text
        group.cancel_scope.cancel()

    print(f"kubeweft imported from {Path(kubeweft.__file__).parents[1]}")
    print(f"requests with random methods: {args.requests} ({len(failures)} failed)")
    for failure in failures[:5]:
        print(f"  failed: {failure}")
    print(
        f"/metrics before: {len(first.encode()):>10,} bytes, {_http_series(first):>7,} HTTP series"
    )
    print(f"/metrics after:  {len(last.encode()):>10,} bytes, {_http_series(last):>7,} HTTP series")


anyio.run(main)
