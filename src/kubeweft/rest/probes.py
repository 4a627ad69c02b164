"""The probe server (port 8081): ``/healthz``, ``/readyz`` and ``/metrics``.

Kept apart from the API so a flood of API traffic, or a broken API middleware, cannot
make the kubelet kill a healthy process. ``/readyz`` runs every readiness check
concurrently, each under its own timeout, and names the checks that failed — a 503
that says ``database: timed out after 2s`` is an answer, a bare 503 is a riddle.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import anyio
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

__all__ = ["Check", "CheckResult", "probe_app", "run_checks"]


@dataclass(frozen=True)
class Check:
    """A named probe. ``probe`` raises (or returns False) when not OK."""

    name: str
    probe: Callable[[], Awaitable[bool | None]]
    timeout: float = 2.0


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    reason: str = ""


async def _run(check: Check) -> CheckResult:
    try:
        with anyio.fail_after(check.timeout):
            outcome = await check.probe()
    except TimeoutError:
        return CheckResult(check.name, False, f"timed out after {check.timeout:g}s")
    except Exception as exc:
        return CheckResult(check.name, False, f"{type(exc).__name__}: {exc}"[:300])
    if outcome is False:
        return CheckResult(check.name, False, "failed")
    return CheckResult(check.name, True)


async def run_checks(checks: Sequence[Check]) -> list[CheckResult]:
    results: list[CheckResult | None] = [None] * len(checks)

    async def one(index: int, check: Check) -> None:
        results[index] = await _run(check)

    async with anyio.create_task_group() as tg:
        for index, check in enumerate(checks):
            tg.start_soon(one, index, check)
    return [r for r in results if r is not None]


def _answer(results: list[CheckResult]) -> Response:
    failed = [r for r in results if not r.ok]
    body: dict[str, object] = {
        "status": "ok" if not failed else "failed",
        "checks": {r.name: ("ok" if r.ok else r.reason) for r in results},
    }
    if failed:
        body["failed"] = [r.name for r in failed]
    return JSONResponse(body, status_code=503 if failed else 200)


def probe_app(
    *,
    liveness: Sequence[Check],
    readiness: Sequence[Check],
    registry: CollectorRegistry,
) -> Starlette:
    async def healthz(request: Request) -> Response:
        return _answer(await run_checks(liveness))

    async def readyz(request: Request) -> Response:
        return _answer(await run_checks(readiness))

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
        ]
    )
