"""``kubeweft run`` as a real subprocess: start-up, the REST API over real HTTP, the
probe server, and a graceful SIGTERM while requests are in flight.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx
import pytest

from kubeweft.localcluster import ClusterAccess
from tests.support.waiting import wait_until_async

pytestmark = [pytest.mark.anyio, pytest.mark.localcluster]

DRAIN_TIMEOUT = 15.0
READY = re.compile(
    r"kubeweft ready \((?P<roles>[a-z+]+)\)(?: \| API (?P<api>http://\S+)/api .*)? \| probes (?P<probes>http://\S+)/readyz"
)


@dataclass
class Served:
    process: subprocess.Popen[str]
    api: str
    probes: str
    log: Path
    roles: str


@contextmanager
def kubeweft_run(cluster: ClusterAccess, tmp_path: Path, *args: str) -> Iterator[Served]:
    log = tmp_path / "kubeweft.log"
    env = {
        **os.environ,
        "KUBEWEFT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'kubeweft.db'}",
        "KUBEWEFT_KUBERNETES_TOKEN_AUTH": "false",
    }
    command = [
        str(Path(sys.executable).parent / "kubeweft"),
        "run",
        "--kubeconfig",
        str(cluster.kubeconfig_path),
        "--no-local-cluster",
        "--state-dir",
        str(tmp_path / "state"),
        "--api-port",
        "0",
        "--probe-port",
        "0",
        "--dev-user",
        "e2e-user",
        "--drain-timeout",
        str(DRAIN_TIMEOUT),
        *args,
    ]
    with log.open("w") as stderr:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env
        )
    try:
        assert process.stdout is not None
        for line in process.stdout:  # the ready line is the first thing on stdout
            match = READY.search(line)
            if match:
                yield Served(process, match["api"] or "", match["probes"], log, match["roles"])
                break
        else:
            raise AssertionError(f"kubeweft run exited before ready:\n{log.read_text()[-4000:]}")
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


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
async def api_client(base: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        yield http


async def test_run_serves_the_api_and_probes(
    local_cluster: ClusterAccess, namespace: str, tmp_path: Path
) -> None:
    with kubeweft_run(local_cluster, tmp_path) as served:
        async with api_client(served.api) as http, api_client(served.probes) as probes:
            created = await http.post(
                "/api/webapps", json={"name": "e2e", "namespace": namespace, "spec": {"image": "x"}}
            )
            assert created.status_code == 201, created.text
            detail = await http.get(f"/api/webapps/{namespace}/e2e")
            assert detail.status_code == 200
            assert detail.headers["etag"] == created.headers["etag"] or detail.json()["generation"]
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
        served.process.send_signal(signal.SIGTERM)
        assert served.process.wait(timeout=DRAIN_TIMEOUT + 15) == 0
    assert '"ready"' in served.log.read_text()


async def test_sigterm_with_requests_in_flight(
    local_cluster: ClusterAccess, namespace: str, tmp_path: Path
) -> None:
    in_flight = 8
    with kubeweft_run(local_cluster, tmp_path) as served:
        started = [anyio.Event() for _ in range(in_flight)]
        release = anyio.Event()
        statuses: list[int] = []

        async def slow_create(i: int) -> None:
            body = f'{{"name": "drain-{i}", "namespace": "{namespace}", "spec": {{"image": "x"}}}}'

            async def chunks() -> AsyncIterator[bytes]:
                yield body[:10].encode()
                started[i].set()  # the server has this request on an open connection
                await release.wait()
                yield body[10:].encode()

            async with api_client(served.api) as http:
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
                return await gauge(served.probes, "kubeweft_http_requests_in_flight") == in_flight

            await wait_until_async(
                all_inside, what="every request in flight", timeout=30, interval=0.05
            )
            served.process.send_signal(signal.SIGTERM)
            # ... and the API has stopped accepting before their bodies complete.
            await wait_until_async(
                lambda: refuses_connections(served.api),  # a coroutine, awaited
                what="the API refusing connections",
                timeout=30,
                interval=0.05,
            )
            release.set()
        assert statuses == [201] * in_flight
        code = await anyio.to_thread.run_sync(
            lambda: served.process.wait(timeout=DRAIN_TIMEOUT + 15)
        )
        assert code == 0
    log = served.log.read_text()
    assert "shutting down" in log
    assert "http server draining" in log


async def test_run_without_api_only_reconciles(
    local_cluster: ClusterAccess, namespace: str, tmp_path: Path
) -> None:
    with kubeweft_run(local_cluster, tmp_path, "--no-api") as served:
        assert served.roles == "controller"
        assert served.api == ""
        async with api_client(served.probes) as probes:
            assert (await probes.get("/readyz")).status_code == 200
        served.process.send_signal(signal.SIGTERM)
        assert served.process.wait(timeout=DRAIN_TIMEOUT + 15) == 0


async def test_ten_megabyte_body_is_refused_with_413(
    local_cluster: ClusterAccess, namespace: str, tmp_path: Path
) -> None:
    with kubeweft_run(local_cluster, tmp_path, "--no-controller") as served:
        assert served.roles == "api"
        async with api_client(served.api) as http:
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
