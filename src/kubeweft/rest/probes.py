"""The probe server (port 8081): ``/healthz``, ``/readyz`` and ``/metrics``.

Kept apart from the API so a flood of API traffic, or a broken API middleware, cannot
make the kubelet kill a healthy process. ``/readyz`` runs every readiness check
concurrently, each under its own timeout, and names the checks that failed — a 503
that says ``database: timed out after 2s`` is an answer, a bare 503 is a riddle.

``/metrics`` may be guarded (``metrics_auth``) as controller-runtime's
``filters.WithAuthenticationAndAuthorization`` guards it: the bearer token is checked
with a TokenReview, then a SubjectAccessReview asks whether its user may ``get`` the
non-resource URL ``/metrics`` (the ``metrics-reader`` ClusterRole grants it). No token
or a refused one is 401, a user without the grant 403, an API server that cannot be
asked 503. The health endpoints stay open: the kubelet probes them without a token.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import anyio
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kubeweft.auth._client import ReviewClient
from kubeweft.auth.identity import AuthenticationError, Decision, Identity, ReviewUnavailable
from kubeweft.auth.subjectaccessreview import SubjectAccessReviewAuthorizer
from kubeweft.auth.tokenreview import KubernetesTokenAuthenticator
from kubeweft.rest.problems import problem_body
from kubeweft.settings import Settings

__all__ = [
    "METRICS_PATH",
    "Check",
    "CheckResult",
    "MetricsAuth",
    "metrics_auth",
    "probe_app",
    "run_checks",
]

METRICS_PATH = "/metrics"


class TokenVerifier(Protocol):
    async def verify(self, token: str) -> Identity: ...


class PathAuthorizer(Protocol):
    async def authorize_path(self, identity: Identity, path: str, verb: str) -> Decision: ...


@dataclass(frozen=True)
class MetricsAuth:
    """Who may read ``/metrics``: a TokenReview'd bearer token allowed ``get /metrics``."""

    authenticator: TokenVerifier
    authorizer: PathAuthorizer


def metrics_auth(settings: Settings, client: ReviewClient) -> MetricsAuth | None:
    """The guard ``settings.metrics_auth`` asks for.

    Its own reviewers (caches and TokenReview budget), apart from the API's: a flood of
    bogus tokens at the API does not lock Prometheus out, and the API's token audiences
    do not apply — Prometheus presents its service-account token, minted for the API
    server, as it does to controller-runtime's metrics endpoint.
    """
    if not settings.metrics_auth:
        return None
    return MetricsAuth(
        authenticator=KubernetesTokenAuthenticator(
            client,
            ttl=settings.authz_cache_ttl_seconds,
            failure_ttl=settings.authz_deny_cache_ttl_seconds,
        ),
        authorizer=SubjectAccessReviewAuthorizer(
            client,
            allow_ttl=settings.authz_cache_ttl_seconds,
            deny_ttl=settings.authz_deny_cache_ttl_seconds,
        ),
    )


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


def _problem(request: Request, status: int, slug: str, title: str, detail: str) -> Response:
    body = problem_body(
        status=status, slug=slug, title=title, detail=detail, instance=request.url.path
    )
    return Response(body, status_code=status, media_type="application/problem+json")


async def _metrics_refusal(request: Request, auth: MetricsAuth) -> Response | None:
    """The 401/403/503 answer for a caller not allowed to read the metrics, else None."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    try:
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationError("no bearer token")
        identity = await auth.authenticator.verify(token.strip())
        decision = await auth.authorizer.authorize_path(identity, METRICS_PATH, "get")
    except AuthenticationError as error:
        response = _problem(
            request, 401, "unauthenticated", "Unauthorized", "A valid bearer token is required."
        )
        response.headers["WWW-Authenticate"] = error.challenge
        return response
    except ReviewUnavailable as error:
        response = _problem(
            request,
            503,
            "review-unavailable",
            "Service Unavailable",
            "Kubernetes could not be asked to review the caller.",
        )
        response.headers["Retry-After"] = str(math.ceil(error.retry_after or 1))
        return response
    if not decision.allowed:
        return _problem(request, 403, "forbidden", "Forbidden", decision.reason)
    return None


def probe_app(
    *,
    liveness: Sequence[Check],
    readiness: Sequence[Check],
    registry: CollectorRegistry,
    guard: MetricsAuth | None = None,
) -> Starlette:
    async def healthz(request: Request) -> Response:
        return _answer(await run_checks(liveness))

    async def readyz(request: Request) -> Response:
        return _answer(await run_checks(readiness))

    async def metrics(request: Request) -> Response:
        if guard is not None:
            refusal = await _metrics_refusal(request, guard)
            if refusal is not None:
                return refusal
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route(METRICS_PATH, metrics),
        ]
    )
