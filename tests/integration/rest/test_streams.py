"""Live updates over real HTTP: a real kubeweft process on the real API server.

One process serves the module (controller off, so only these tests change objects),
with small limits so each behaviour is reached with a handful of changes: a replay
buffer of 20 changes, 4 changes per stream, 2 streams per user, heartbeats every
0.5 s. Objects change through the REST API; streams are read as an EventSource reads
them (``tests.support.sse``).
"""

from __future__ import annotations

import secrets
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from kubeweft import App
from kubeweft.db.records import MetricSample
from kubeweft.db.types import utcnow
from kubeweft.examples.webapp.api.v1 import WebApp
from kubeweft.localcluster import ClusterAccess
from kubeweft.repositories import metrics, unit_of_work
from kubeweft.views.subscription import Subscription
from tests.integration.rest.stack import DEV_USER, Running, running
from tests.support import accounts, sse
from tests.support.models import Zone
from tests.support.waiting import wait_until_async

pytestmark = [pytest.mark.anyio, pytest.mark.localcluster]

AUDIENCE = "kubeweft"
REPLAY = 20
CLIENT_BUFFER = 4
PER_USER = 2


@pytest.fixture(scope="module")
def namespaces(local_cluster: ClusterAccess) -> Any:
    """Two namespaces, and an account that may read webapps in the first only."""
    suffix = secrets.token_hex(3)
    visible, hidden = f"streams-a-{suffix}", f"streams-b-{suffix}"
    rbac = "rbac.authorization.k8s.io"
    local_cluster.apply(
        [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": visible}},
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": hidden}},
            accounts.service_account(visible, "reader"),
            {
                "apiVersion": f"{rbac}/v1",
                "kind": "Role",
                "metadata": {"name": "webapp-reader", "namespace": visible},
                "rules": [
                    {
                        "apiGroups": [WebApp.model_info.group],
                        "resources": ["webapps"],
                        "verbs": ["get", "list", "watch"],
                    }
                ],
            },
            {
                "apiVersion": f"{rbac}/v1",
                "kind": "RoleBinding",
                "metadata": {"name": "webapp-reader", "namespace": visible},
                "roleRef": {"apiGroup": rbac, "kind": "Role", "name": "webapp-reader"},
                "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": visible}],
            },
        ]
    )
    yield visible, hidden
    for name in (visible, hidden):
        local_cluster.kubectl("delete", "namespace", name, "--wait=false")


@pytest.fixture(scope="module")
async def stack(
    local_cluster: ClusterAccess, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Running]:
    database = tmp_path_factory.mktemp("streams") / "kubeweft.db"
    async with running(
        local_cluster,
        f"sqlite+aiosqlite:///{database}",
        enable_controller=False,
        kubernetes_token_auth=True,
        token_audiences=[AUDIENCE],
        stream_replay_buffer=REPLAY,
        stream_client_buffer=CLIENT_BUFFER,
        stream_max_per_user=PER_USER,
        stream_heartbeat_seconds=0.5,
    ) as running_stack:
        yield running_stack


def reader_headers(cluster: ClusterAccess, namespace: str) -> dict[str, str]:
    token = accounts.token(cluster, namespace, "reader", AUDIENCE)
    return {"Authorization": f"Bearer {token}"}


async def create(http: httpx.AsyncClient, namespace: str, name: str, **labels: str) -> None:
    body = {"name": name, "namespace": namespace, "labels": labels, "spec": {"image": "nginx:1"}}
    response = await http.post("/api/webapps", json=body)
    assert response.status_code == 201, response.text


async def relabel(http: httpx.AsyncClient, namespace: str, name: str, **labels: str) -> None:
    response = await http.patch(f"/api/webapps/{namespace}/{name}", json={"labels": labels})
    assert response.status_code == 200, response.text


@asynccontextmanager
async def stream(
    http: httpx.AsyncClient, path: str, headers: dict[str, str] | None = None
) -> AsyncIterator[AsyncIterator[sse.Message]]:
    async with http.stream("GET", path, headers=headers or {}) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield sse.aparse(response.aiter_lines())


async def until(messages: AsyncIterator[sse.Message], event: str) -> list[sse.Message]:
    """Messages up to and including the first ``event`` (comments left out)."""
    seen: list[sse.Message] = []
    with anyio.fail_after(60):
        async for message in messages:
            if message.event is not None:
                seen.append(message)
            if message.event == event:
                return seen
    raise AssertionError(f"stream ended before {event}: {seen}")


async def changes(messages: AsyncIterator[sse.Message], count: int) -> list[sse.Message]:
    """The next ``count`` object events (``synced`` and comments left out)."""
    seen: list[sse.Message] = []
    with anyio.fail_after(60):
        async for message in messages:
            if message.event in ("added", "modified", "deleted", "resync"):
                seen.append(message)
            if len(seen) == count:
                return seen
    raise AssertionError(f"stream ended after {seen}")


def names(messages: list[sse.Message]) -> list[tuple[str | None, str]]:
    return [(m.event, m.json()["name"]) for m in messages]


async def test_resume_after_disconnect_has_no_gap(stack: Running, namespaces: Any) -> None:
    visible, _ = namespaces
    http = stack.http
    for name in ("r-1", "r-2", "r-3"):
        await create(http, visible, name, app="resume")
    path = f"/api/watch/webapps/{visible}?labelSelector=app%3Dresume"

    async def listed() -> list[tuple[str | None, str]]:
        async with stream(http, path) as messages:
            return names((await until(messages, "synced"))[:-1])

    await wait_until_async(listed, accept=lambda got: len(got) == 3, what="three webapps")
    async with stream(http, path) as messages:
        snapshot = await until(messages, "synced")
        assert names(snapshot[:-1]) == [("added", "r-1"), ("added", "r-2"), ("added", "r-3")]
        await relabel(http, visible, "r-1", app="resume", step="1")
        (first,) = await changes(messages, 1)
        assert (first.event, first.json()["name"]) == ("modified", "r-1")
        assert first.json()["labels"] == {"app": "resume", "step": "1"}
        assert first.json()["resourceVersion"] == first.id
    # Disconnected: three changes happen.
    await relabel(http, visible, "r-2", app="resume", step="2")
    await relabel(http, visible, "r-3", app="resume", step="3")
    assert (await http.delete(f"/api/webapps/{visible}/r-1")).status_code in (202, 204)
    async with stream(http, path, {"Last-Event-ID": str(first.id)}) as messages:
        missed = await changes(messages, 3)
    assert names(missed) == [("modified", "r-2"), ("modified", "r-3"), ("deleted", "r-1")]
    ids = [int(str(first.id))] + [int(str(m.id)) for m in missed]
    assert ids == sorted(ids)
    assert len(set(ids)) == 4


async def test_too_old_id_gets_resync_then_current_state(stack: Running, namespaces: Any) -> None:
    visible, _ = namespaces
    http = stack.http
    await create(http, visible, "old-1", app="old")
    path = f"/api/watch/webapps/{visible}?labelSelector=app%3Dold"
    async with stream(http, path) as messages:
        synced = (await until(messages, "synced"))[-1]
    for step in range(REPLAY + 1):  # more changes than the replay buffer keeps
        await relabel(http, visible, "old-1", app="old", step=str(step))
    watches = stack.process.context.watches  # type: ignore[union-attr]
    assert watches is not None
    cache = watches.cache_for(WebApp)

    async def floor() -> int | None:
        return cache.floor

    await wait_until_async(
        floor, accept=lambda f: f is not None and f > int(str(synced.id)), what="buffer rolled"
    )
    async with stream(http, path, {"Last-Event-ID": str(synced.id)}) as messages:
        got = await until(messages, "synced")
    assert got[0].event == "resync"
    assert got[0].json()["reason"] == "Expired"
    assert names(got[1:-1]) == [("added", "old-1")]
    assert got[1].json()["labels"]["step"] == str(REPLAY)
    assert int(str(got[-1].id)) >= int(got[1].json()["resourceVersion"])


async def test_forbidden_namespace_never_appears(
    stack: Running, namespaces: Any, local_cluster: ClusterAccess
) -> None:
    visible, hidden = namespaces
    http = stack.http
    reader = reader_headers(local_cluster, visible)
    await create(http, visible, "seen-1", app="rbac")
    await create(http, hidden, "secret-1", app="rbac")
    refused = await http.get(f"/api/watch/webapps/{hidden}", headers=reader)
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    async with stream(http, "/api/watch/webapps?labelSelector=app%3Drbac", reader) as messages:
        snapshot = await until(messages, "synced")
        assert {m.json()["namespace"] for m in snapshot[:-1]} == {visible}
        # A change in the hidden namespace comes first (lower resourceVersion): it would
        # be delivered before the visible one if the filter let it through.
        await relabel(http, hidden, "secret-1", app="rbac", step="1")
        await create(http, hidden, "secret-2", app="rbac")
        await create(http, visible, "seen-2", app="rbac")
        (event,) = await changes(messages, 1)
    assert (event.event, event.json()["namespace"], event.json()["name"]) == (
        "added",
        visible,
        "seen-2",
    )


async def test_malformed_last_event_id_is_a_problem_naming_it(
    stack: Running, namespaces: Any
) -> None:
    visible, _ = namespaces
    response = await stack.http.get(
        f"/api/watch/webapps/{visible}", headers={"Last-Event-ID": "12ab"}
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in response.json()["errors"]] == ["header.Last-Event-ID"]


async def test_heartbeats_carry_the_resume_point(stack: Running, namespaces: Any) -> None:
    visible, _ = namespaces
    async with stream(stack.http, f"/api/watch/webapps/{visible}/nothing-here") as messages:
        synced = (await until(messages, "synced"))[-1]
        with anyio.fail_after(30):
            heartbeat = await anext(aiter(messages))
    assert heartbeat.event is None
    assert heartbeat.comment == "heartbeat"
    assert heartbeat.id is not None
    assert int(heartbeat.id) >= int(str(synced.id))


async def test_streams_per_user_are_capped(stack: Running, namespaces: Any) -> None:
    visible, _ = namespaces
    http = stack.http
    watches = stack.process.context.watches  # type: ignore[union-attr]
    assert watches is not None
    path = f"/api/watch/webapps/{visible}"

    async def open_now() -> int:
        return watches.open_streams(DEV_USER)

    # The server gives a slot back when it notices its client gone, some loop turns
    # after the client closed: the streams of the tests before may still hold theirs.
    await wait_until_async(open_now, accept=lambda n: n == 0, what="earlier slots released")
    async with stream(http, path) as first, stream(http, path) as second:
        await until(first, "synced")
        await until(second, "synced")
        refused = await http.get(path)
        assert refused.status_code == 429, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert "retry-after" in refused.headers

    await wait_until_async(open_now, accept=lambda n: n == 0, what="slots released")
    async with stream(http, path) as again:
        await until(again, "synced")


async def test_slow_consumer_is_cut_off_with_bounded_buffer(
    stack: Running, namespaces: Any
) -> None:
    visible, _ = namespaces
    http = stack.http
    # Big objects (long environment values), so a few events fill the socket buffers.
    env = [{"name": f"FILLER_{i}", "value": "x" * 30_000} for i in range(4)]
    big = [f"big-{i}" for i in range(4)]
    for name in big:
        body = {"name": name, "namespace": visible, "labels": {"app": "slow"}}
        spec = {"image": "nginx:1", "env": env}
        assert (await http.post("/api/webapps", json={**body, "spec": spec})).status_code == 201
    watches = stack.process.context.watches  # type: ignore[union-attr]
    assert watches is not None
    cache = watches.cache_for(WebApp)
    before = set(cache.subscriptions)
    url = httpx.URL(str(stack.process.info.api_url))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a client that reads slowly
    sock.connect((url.host, url.port or 80))
    try:
        request = f"GET /api/watch/webapps/{visible}?labelSelector=app%3Dslow HTTP/1.1\r\n"
        headers = f"Host: {url.host}\r\nAccept: text/event-stream\r\nConnection: close\r\n"
        sock.sendall(f"{request}{headers}\r\n".encode())

        async def subscribed() -> set[Subscription]:
            return set(cache.subscriptions) - before

        (subscription,) = await wait_until_async(subscribed, what="the slow stream subscribed")
        for step in range(100):  # the client reads nothing meanwhile
            if subscription.overflowed:
                break
            async with anyio.create_task_group() as tg:
                for name in big:  # small patches; the objects stay big
                    patch = {"metadata": {"labels": {"step": str(step)}}}
                    tg.start_soon(_patch, stack, name, patch, visible)
        assert subscription.overflowed
        assert subscription.high_water <= CLIENT_BUFFER
        received = await anyio.to_thread.run_sync(_read_to_end, sock)
    finally:
        sock.close()
    payload = _dechunk(received.split(b"\r\n\r\n", 1)[1].decode())
    events = list(sse.parse(payload.splitlines(keepends=True)))
    last = [m for m in events if m.event is not None][-1]
    assert last.event == "resync"
    assert last.json()["reason"] == "TooSlow"

    async def open_now() -> int:
        return watches.open_streams(DEV_USER)

    await wait_until_async(open_now, accept=lambda n: n == 0, what="the slot released")
    assert subscription not in cache.subscriptions


async def _patch(stack: Running, name: str, patch: dict[str, Any], namespace: str) -> None:
    await stack.client.patch(WebApp, name, patch, namespace=namespace)


def _read_to_end(sock: socket.socket) -> bytes:
    sock.settimeout(60)
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _dechunk(body: str) -> str:
    """The payload of a chunked transfer encoding (sizes in hex, each on its own line)."""
    out, rest = [], body
    while rest:
        size_line, _, rest = rest.partition("\r\n")
        size = int(size_line or "0", 16)
        if size == 0:
            break
        out.append(rest[:size])
        rest = rest[size + 2 :]
    return "".join(out)


async def test_cluster_scoped_model_streams(local_cluster: ClusterAccess, tmp_path: Path) -> None:
    """A cluster-scoped model's streams have no namespace segment: the list and one
    object; the object reads back with a null namespace."""
    zones = App("zones")
    zones.add_model(Zone)
    name = f"zone-{secrets.token_hex(3)}"
    async with running(
        local_cluster,
        f"sqlite+aiosqlite:///{tmp_path / 'kubeweft.db'}",
        app=zones,
        enable_controller=False,
    ) as other:
        http = other.http
        paths = (await http.get("/openapi.json")).json()["paths"]
        assert {"/api/watch/zones", "/api/watch/zones/{name}"} <= set(paths)
        try:
            async with (
                stream(http, "/api/watch/zones") as every,
                stream(http, f"/api/watch/zones/{name}") as one,
            ):
                await until(every, "synced")
                assert [m.event for m in await until(one, "synced")] == ["synced"]
                body = {"name": name, "spec": {"capacity": 3}}
                assert (await http.post("/api/zones", json=body)).status_code == 201
                patch = {"spec": {"capacity": 4}}
                assert (await http.patch(f"/api/zones/{name}", json=patch)).status_code == 200
                (added, modified) = await changes(one, 2)
                listed: list[sse.Message] = []
                while len(listed) < 2:  # other tests' zones may change meanwhile
                    listed += [m for m in await changes(every, 1) if m.json()["name"] == name]
        finally:
            await http.delete(f"/api/zones/{name}")
    assert (added.event, added.json()["namespace"]) == ("added", None)
    assert (modified.event, modified.json()["spec"]["capacity"]) == ("modified", 4)
    assert [m.event for m in listed] == ["added", "modified"]


async def test_events_carry_the_database_fields(stack: Running, namespaces: Any) -> None:
    """A change's data and a snapshot's carry the object's latest samples, as a list item
    from ``GET /api/webapps`` does (rest.streambodies)."""
    visible, _ = namespaces
    http = stack.http
    path = f"/api/watch/webapps/{visible}?labelSelector=app%3Dsampled"
    async with stream(http, path) as messages:
        await until(messages, "synced")
        await create(http, visible, "sampled-1", app="sampled")
        (added,) = await changes(messages, 1)
        assert added.json()["latestMetrics"] == {}
        sample = MetricSample(
            uid=added.json()["uid"], name="ready_replicas", value=2.0, ts=utcnow()
        )
        async with unit_of_work(stack.database) as session:
            await metrics.record_samples(session, [sample])

        # Written beside the process's record writer, as another process writes: the
        # process sees it once its change watch has polled (db.change_watch), not at once.
        async def listed_samples() -> dict[str, Any]:
            params = {"labelSelector": "app=sampled"}
            body = (await http.get(f"/api/webapps/{visible}", params=params)).json()
            samples: dict[str, Any] = body["items"][0]["latestMetrics"]
            return samples

        await wait_until_async(
            listed_samples, accept=lambda got: "ready_replicas" in got, what="the sample seen"
        )
        await relabel(http, visible, "sampled-1", app="sampled", step="1")
        (modified,) = await changes(messages, 1)
    assert modified.json()["latestMetrics"]["ready_replicas"]["value"] == 2.0
    async with stream(http, path) as messages:
        (snapshot, _) = await until(messages, "synced")
    assert snapshot.json()["latestMetrics"]["ready_replicas"]["value"] == 2.0
    listed = await http.get(f"/api/webapps/{visible}", params={"labelSelector": "app=sampled"})
    assert snapshot.json()["latestMetrics"] == listed.json()["items"][0]["latestMetrics"]


async def test_drain_ends_open_streams(
    local_cluster: ClusterAccess, namespaces: Any, tmp_path: Path
) -> None:
    """A draining server ends its streams at once, instead of waiting out the drain
    timeout (an hour here) for clients that would never leave."""
    visible, _ = namespaces
    async with (
        running(
            local_cluster,
            f"sqlite+aiosqlite:///{tmp_path / 'kubeweft.db'}",
            enable_controller=False,
            drain_timeout_seconds=3600.0,
        ) as other,
        stream(other.http, f"/api/watch/webapps/{visible}") as messages,
    ):
        await until(messages, "synced")
        other.process.stop()
        with anyio.fail_after(60):
            async for _ in messages:
                pass  # ends when the server closes the stream
