"""TokenReviews caused by a flood of made-up bearer tokens, and what it does to the Lease.

Starts the local control plane (or uses ``--kubeconfig``) and a real kubeweft process
in-process (real HTTP, leader election on), then sends ``--requests`` requests, each
with a fresh random bearer token, ``--concurrency`` at a time. Prints:

* the HTTP statuses (401: reviewed and refused; 503 + Retry-After: review budget spent);
* TokenReviews sent, counted twice: kubeweft's ``kubeweft_tokenreviews_total`` and the
  API server's own ``apiserver_request_total{resource="tokenreviews"}``;
* Lease renewals seen during the flood and whether the holder ever changed.

``--unbounded`` sets the review budget so high that it never applies: the behaviour
before the budget existed (one TokenReview per new token).

    .venv/bin/python bench/auth_flood.py [--requests 10000] [--concurrency 64] [--unbounded]
"""

from __future__ import annotations

import argparse
import re
import secrets
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

import anyio
import httpx
from lightkube.resources.coordination_v1 import Lease

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.integration

from tests.integration.rest.stack import running

from kubeweft.auth.tokenreview import TOKENREVIEWS
from kubeweft.localcluster import ExternalCluster, LocalCluster, find_binaries
from kubeweft.localcluster.access import ClusterAccess
from kubeweft.logging import configure_logging
from kubeweft.runtime.errors import NotFound

LEASE = "kubeweft-auth-flood"
_APISERVER_TOKENREVIEWS = re.compile(
    r'^apiserver_request_total\{(?=[^}]*resource="tokenreviews")(?=[^}]*verb="POST")[^}]*\}'
    r" ([0-9.e+]+)$",
    re.MULTILINE,
)


def apiserver_tokenreviews(cluster: ClusterAccess) -> float:
    with cluster.http() as http:
        text = http.get("/metrics").text
    return sum(float(value) for value in _APISERVER_TOKENREVIEWS.findall(text))


def kubeweft_tokenreviews() -> dict[str, float]:
    results = ("authenticated", "unauthenticated", "error", "throttled")
    return {r: TOKENREVIEWS.labels(r)._value.get() for r in results}


async def flood(cluster: ClusterAccess, args: argparse.Namespace, workdir: Path) -> None:
    namespace = f"auth-flood-{secrets.token_hex(3)}"
    cluster.kubectl("create", "namespace", namespace)
    budget = (
        {"token_review_rate_per_second": 1e9, "token_review_burst": 10**9} if args.unbounded else {}
    )
    async with running(
        cluster,
        f"sqlite+aiosqlite:///{workdir / 'kubeweft.db'}",
        dev_user=None,
        kubernetes_token_auth=True,
        leader_election=True,
        leader_election_id=LEASE,
        leader_election_namespace=namespace,
        token_review_concurrency=args.review_concurrency if not args.unbounded else 256,
        http_header_timeout_seconds=120,  # measure reviews, not the header-read timeout
        **budget,
    ) as stack:
        settings = stack.process.settings

        async def lease() -> Lease:
            return await stack.client.get(Lease, LEASE, namespace)

        async def held() -> str | None:
            try:
                return (await lease()).spec.holderIdentity
            except NotFound:
                return None

        while not await held():  # noqa: ASYNC110 - polling the API server
            await anyio.sleep(0.2)
        before_lease = await lease()
        holders: set[str | None] = set()
        renewals: set[object] = set()
        statuses: Counter[int] = Counter()
        latencies: list[float] = []
        kubeweft_before = kubeweft_tokenreviews()
        apiserver_before = apiserver_tokenreviews(cluster)
        done = anyio.Event()

        async def watch_lease() -> None:
            while not done.is_set():
                current = await lease()
                holders.add(current.spec.holderIdentity)
                renewals.add(current.spec.renewTime)
                await anyio.sleep(0.25)

        async def worker(index: int, http: httpx.AsyncClient) -> None:
            for _ in range(index, args.requests, args.concurrency):
                headers = {"Authorization": f"Bearer {secrets.token_urlsafe(32)}"}
                started = time.perf_counter()
                try:
                    response = await http.get(f"/api/webapps/{namespace}", headers=headers)
                except httpx.TransportError:
                    statuses[0] += 1  # connection closed by the server (shown as 0)
                    continue
                latencies.append(time.perf_counter() - started)
                statuses[response.status_code] += 1

        limits = httpx.Limits(max_connections=args.concurrency)
        started = time.monotonic()
        async with (
            httpx.AsyncClient(base_url=stack.http.base_url, timeout=120, limits=limits) as http,
            anyio.create_task_group() as tg,
        ):
            tg.start_soon(watch_lease)
            async with anyio.create_task_group() as workers:
                for index in range(args.concurrency):
                    workers.start_soon(worker, index, http)
            done.set()
        elapsed = time.monotonic() - started
        after_lease = await lease()
        kubeweft_after = kubeweft_tokenreviews()
        apiserver_after = apiserver_tokenreviews(cluster)

    delta = {k: kubeweft_after[k] - kubeweft_before[k] for k in kubeweft_after}
    sent = delta["authenticated"] + delta["unauthenticated"] + delta["error"]
    latencies.sort()
    budget_text = (
        "unbounded"
        if args.unbounded
        else f"{settings.token_review_concurrency} concurrent,"
        f" {settings.token_review_rate_per_second:g}/s, burst {settings.token_review_burst}"
    )
    print(f"requests with random bogus bearer tokens: {args.requests} ({args.concurrency} at once)")
    print(f"review budget: {budget_text}")
    print(f"elapsed: {elapsed:.1f} s ({args.requests / elapsed:.0f} req/s)")
    print(f"HTTP statuses: {dict(sorted(statuses.items()))}")
    print(
        f"latency p50 {latencies[len(latencies) // 2] * 1000:.1f} ms,"
        f" p99 {latencies[int(len(latencies) * 0.99)] * 1000:.1f} ms"
    )
    print(
        f"TokenReviews sent (kubeweft_tokenreviews_total): {sent:.0f}"
        f" (throttled, not sent: {delta['throttled']:.0f})"
    )
    print(
        "TokenReviews received by the API server (apiserver_request_total):"
        f" {apiserver_after - apiserver_before:.0f}"
    )
    print(
        f"Lease: holder before {before_lease.spec.holderIdentity!r}, after"
        f" {after_lease.spec.holderIdentity!r}, holders seen {len(holders)},"
        f" distinct renewTimes seen during the flood {len(renewals)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--review-concurrency", type=int, default=8)
    parser.add_argument("--unbounded", action="store_true")
    parser.add_argument("--kubeconfig", type=Path, default=None)
    args = parser.parse_args()
    configure_logging("WARNING", "console")
    with ExitStack() as stack, tempfile.TemporaryDirectory() as workdir:
        cluster: ClusterAccess
        if args.kubeconfig is None:
            cluster = stack.enter_context(LocalCluster(binaries=find_binaries()))
        else:
            cluster = ExternalCluster(args.kubeconfig)
        anyio.run(flood, cluster, args, Path(workdir))


if __name__ == "__main__":
    main()
