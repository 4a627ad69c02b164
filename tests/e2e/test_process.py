"""``kubeweft run`` as a real subprocess: start-up, the REST API over real HTTP, the
probe server, and a graceful SIGTERM while requests are in flight.
"""

from __future__ import annotations

import re
import signal
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import anyio
import httpx
import pytest

from kubeweft.localcluster import ClusterAccess
from tests.support.process import KubeweftProcess, kubeweft_run
from tests.support.waiting import wait_until_async

pytestmark = [pytest.mark.anyio, pytest.mark.localcluster]

DRAIN_TIMEOUT = 15.0


@contextmanager
def served(cluster: ClusterAccess, tmp_path: Path, *args: str) -> Iterator[KubeweftProcess]:
    """``kubeweft run`` on SQLite with a drain timeout; the API on a free port."""
    with kubeweft_run(
        cluster.kubeconfig_path, tmp_path, "--drain-timeout", str(DRAIN_TIMEOUT), *args
    ) as process:
        yield process


def stopped_cleanly(process: KubeweftProcess) -> int:
    """SIGTERM, and the exit code once the drain is over."""
    return process.stop(timeout=DRAIN_TIMEOUT + 15)


async def gauge(base: str, name: str) -> float:
    async with api_client(base) as http:
        text = (await http.get("/metrics")).text
    match = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    return float(match[1]) if match else -1.0


async def refuses_connections(base: str) -> bool:
    try:
        async with api_client(base) as http:
            await http.get("/openapi.json")
    except httpx.TransportError:
        return True
    return False


@asynccontextmanager
async def api_client(base: str | None) -> AsyncIterator[httpx.AsyncClient]:
    assert base, "the process serves no API"
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        yield http


async def test_run_serves_the_api_and_probes(
    local_cluster: ClusterAccess, namespace: str, tmp_path: Path
) -> None:
    with served(local_cluster, tmp_path) as process:
        async with api_client(process.api_url) as http, api_client(process.probe_url) as probes:
            created = await http.post(
                "/api/webapps",
                json={"name": "e2e", "namespace": namespace, "spec": {"image": "x:1"}},
            )
            assert created.status_code == 201, created.text
            detail = await http.get(f"/api/webapps/{namespace}/e2e")
            assert detail.status_code == 200
            # The reconciler may have written status in between, so the versions can
            # differ; each ETag must name the version of the body it came with.
            assert created.headers["etag"] == f'"{created.json()["resourceVersion"]}"'
            assert detail.headers["etag"] == f'"{detail.json()["resourceVersion"]}"'
            assert detail.json()["uid"] == created.json()["uid"]
            assert (await probes.get("/healthz")).status_code == 200
            ready = await probes.get("/readyz")
            assert ready.status_code == 200, ready.text
            assert set(ready.json()["checks"]) == {"kubernetes", "database", "manager"}
            metrics = (await probes.get("/metrics")).text
            assert "kubeweft_http_requests_total" in metrics
            assert 'route="/api/webapps/{namespace}/{name}"' in metrics
            assert "controller_runtime_reconcile_total" in metrics
            docs = await http.get("/docs")
            assert docs.status_code == 200
            spec = (await http.get("/openapi.json")).json()
            assert "/api/webapps/{namespace}/{name}" in spec["paths"]
        assert stopped_cleanly(process) == 0
    assert '"ready"' in process.log()


async def test_sigterm_with_requests_in_flight(
    local_cluster: ClusterAccess, namespace: str, tmp_path: Path
) -> None:
    in_flight = 8
    with served(local_cluster, tmp_path) as process:
        started = [anyio.Event() for _ in range(in_flight)]
        release = anyio.Event()
        statuses: list[int] = []

        async def slow_create(i: int) -> None:
            spec = '{"image": "x:1"}'
            body = f'{{"name": "drain-{i}", "namespace": "{namespace}", "spec": {spec}}}'

            async def chunks() -> AsyncIterator[bytes]:
                yield body[:10].encode()
                started[i].set()  # the server has this request on an open connection
                await release.wait()
                yield body[10:].encode()

            async with api_client(process.api_url) as http:
                response = await http.post(
                    "/api/webapps", content=chunks(), headers={"content-type": "application/json"}
                )
                statuses.append(response.status_code)

        async with anyio.create_task_group() as tg:
            for i in range(in_flight):
                tg.start_soon(slow_create, i)
            for event in started:
                await event.wait()

            # Every request is inside the app (the in-flight gauge counts them) ...
            async def all_inside() -> bool:
                return (
                    await gauge(process.probe_url, "kubeweft_http_requests_in_flight") == in_flight
                )

            await wait_until_async(
                all_inside, what="every request in flight", timeout=30, interval=0.05
            )
            process.popen.send_signal(signal.SIGTERM)
            # ... and the API has stopped accepting before their bodies complete.
            await wait_until_async(
                lambda: refuses_connections(process.api_url),  # a coroutine, awaited
                what="the API refusing connections",
                timeout=30,
                interval=0.05,
            )
            release.set()
        assert statuses == [201] * in_flight
        code = await anyio.to_thread.run_sync(stopped_cleanly, process)
        assert code == 0
    log = process.log()
    assert "shutting down" in log
    assert "http server draining" in log


async def test_run_without_api_only_reconciles(
    local_cluster: ClusterAccess, namespace: str, tmp_path: Path
) -> None:
    with served(local_cluster, tmp_path, "--no-api") as process:
        assert process.roles == "controller"
        assert process.api_url is None
        async with api_client(process.probe_url) as probes:
            assert (await probes.get("/readyz")).status_code == 200
        assert stopped_cleanly(process) == 0


async def test_ten_megabyte_body_is_refused_with_413(
    local_cluster: ClusterAccess, namespace: str, tmp_path: Path
) -> None:
    with served(local_cluster, tmp_path, "--no-controller") as process:
        assert process.roles == "api"
        async with api_client(process.api_url) as http:
            response = await http.post(
                "/api/webapps",
                content=b"{" + b" " * (10 * 1024 * 1024) + b"}",
                headers={"content-type": "application/json"},
            )
            assert response.status_code == 413
            assert response.headers["content-type"] == "application/problem+json"
            assert "exceeds" in response.json()["detail"]
            # The server is fine afterwards.
            listed = await http.get(f"/api/webapps/{namespace}")
            assert listed.status_code == 200
