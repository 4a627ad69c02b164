"""A flood of made-up bearer tokens against a real kubeweft process that holds a Lease.

Each bearer token nobody presented before costs a TokenReview. Here 2,000 distinct
bogus tokens arrive concurrently over real HTTP while the process leads on the real API
server. Expected:

* the TokenReviews sent stay within the budget (burst + rate x elapsed), counted by
  ``kubeweft_tokenreviews_total``; the rest are answered 503 with ``Retry-After`` (a
  problem, not a 500) or 401, and never reach the API server;
* the leader keeps its Lease: renewals (on their own connection pool) go on during the
  flood — ``renewTime`` advances and the holder never changes.
"""

from __future__ import annotations

import secrets
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import anyio
import httpx
import pytest
from lightkube.resources.coordination_v1 import Lease

from kubeweft.auth.tokenreview import TOKENREVIEWS
from kubeweft.localcluster.access import ClusterAccess
from kubeweft.runtime.client import Client
from kubeweft.runtime.errors import NotFound
from tests.integration.rest.stack import running
from tests.support.waiting import wait_until_async

pytestmark = [pytest.mark.anyio, pytest.mark.localcluster]

LEASE = "kubeweft-flood-test"
TOKENS = 2_000
CLIENT_CONCURRENCY = 64
RATE, BURST = 5.0, 10


def reviews_sent() -> float:
    return sum(
        TOKENREVIEWS.labels(result)._value.get()
        for result in ("authenticated", "unauthenticated", "error")
    )


async def test_bogus_token_flood_is_bounded_and_the_leader_keeps_its_lease(
    local_cluster: ClusterAccess, namespace: str, webapp_crd: str, tmp_path: Path
) -> None:
    async with running(
        local_cluster,
        f"sqlite+aiosqlite:///{tmp_path / 'kubeweft.db'}",
        dev_user=None,
        kubernetes_token_auth=True,
        leader_election=True,
        leader_election_id=LEASE,
        leader_election_namespace=namespace,
        token_review_rate_per_second=RATE,
        token_review_burst=BURST,
        token_review_concurrency=4,
        # On a loaded machine 64 requests at once can wait longer than the default
        # header-read timeout; connections cut for that are not what is tested here.
        http_header_timeout_seconds=120,
    ) as stack:
        admin = stack.client

        async def lease() -> Lease:
            return await admin.get(Lease, LEASE, namespace)

        held = await wait_until_async(
            lease,
            accept=lambda found: found.spec.holderIdentity,
            what="the Lease to be held",
            retry_on=(NotFound,),
        )
        holder = held.spec.holderIdentity
        observed: list[tuple[str | None, datetime | None]] = []
        sent_before = reviews_sent()
        statuses: Counter[int] = Counter()
        problems_without_retry_after = 0
        flooding = anyio.Event()

        async def watch_lease() -> None:
            while not flooding.is_set():
                current = await lease()
                observed.append((current.spec.holderIdentity, current.spec.renewTime))
                await anyio.sleep(0.5)

        async def flood(worker: int, http: httpx.AsyncClient) -> None:
            nonlocal problems_without_retry_after
            for _ in range(worker, TOKENS, CLIENT_CONCURRENCY):
                # Hex, so no token can take the API-key shape (``kw_<id>_<secret>``), which
                # a URL-safe token does about once in 500,000 draws: that one would get
                # its 401 from the API-key path without a TokenReview.
                bogus = secrets.token_hex(32)
                response = await http.get(
                    f"/api/webapps/{namespace}", headers={"Authorization": f"Bearer {bogus}"}
                )
                statuses[response.status_code] += 1
                if response.status_code == 503:
                    assert response.headers["content-type"].startswith("application/problem")
                    if "retry-after" not in response.headers:
                        problems_without_retry_after += 1

        started = time.monotonic()
        # Idle connections are dropped by the client well before the server's 5 s
        # keep-alive timeout: a request sent on a connection the server is closing at
        # that moment is HTTP/1.1's own race (a reset), not what is tested here.
        limits = httpx.Limits(max_connections=CLIENT_CONCURRENCY, keepalive_expiry=1.0)
        async with (
            httpx.AsyncClient(base_url=stack.http.base_url, timeout=60, limits=limits) as http,
            anyio.create_task_group() as tg,
        ):
            tg.start_soon(watch_lease)
            async with anyio.create_task_group() as flooders:
                for worker in range(CLIENT_CONCURRENCY):
                    flooders.start_soon(flood, worker, http)
            flooding.set()
        elapsed = time.monotonic() - started
        sent = reviews_sent() - sent_before

        assert sum(statuses.values()) == TOKENS
        assert set(statuses) <= {401, 503}, statuses
        assert statuses[503] > 0
        assert problems_without_retry_after == 0
        # The budget: the burst, plus the rate for as long as the flood lasted.
        assert sent <= BURST + RATE * elapsed + 1, (sent, elapsed)
        assert statuses[401] == sent  # every review the budget allowed said "no"

        after = await lease()
        assert {h for h, _ in observed} == {holder}
        assert after.spec.holderIdentity == holder
        assert after.spec.renewTime is not None
        assert held.spec.renewTime is not None
        assert after.spec.renewTime > held.spec.renewTime
        assert stack.process.manager.leader_state == "leader"


async def test_the_lease_is_renewed_on_its_own_client(
    local_cluster: ClusterAccess, namespace: str, webapp_crd: str, tmp_path: Path
) -> None:
    """The elector does not share the REST layer's (and reviews') connection pool."""
    async with running(
        local_cluster,
        f"sqlite+aiosqlite:///{tmp_path / 'kubeweft.db'}",
        leader_election=True,
        leader_election_id=LEASE,
        leader_election_namespace=namespace,
    ) as stack:
        election_client = stack.process.election_client
        assert isinstance(election_client, Client)
        assert election_client is not stack.client
        assert stack.process.manager.options.leader_election_client is election_client
