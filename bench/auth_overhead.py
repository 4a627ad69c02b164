"""What authorization (and authentication) adds to a REST request, on a real API server.

Starts the local control plane (RBAC on), binds ``alice`` to edit WebApps in one
namespace, and measures through kubeweft's own authorizer and authenticators:

* added latency per request with a *cold* authorization cache (every check is a
  SubjectAccessReview round trip) and a *warm* one (answered from the cache);
* SubjectAccessReview calls per 1,000 requests from one user, for a realistic mix
  (list, get of 10 objects, patch, annotations) arriving at 10 req/s with the default
  10 s TTL (a fake clock moves 0.1 s per request, the reviews are real), and for a
  burst of 1,000 concurrent identical requests on a cold cache (coalescing);
* authentication per method: TokenReview cold/warm, HS256 JWT, API key (SQLite).

    .venv/bin/python bench/auth_overhead.py [--requests 1000] [--samples 300]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import jwt
import yaml
from pydantic import SecretStr
from starlette.requests import HTTPConnection

from kubeweft.auth import Identity, Operation, attributes_for, build_authenticator
from kubeweft.auth.apikeys import ApiKeyAuthenticator
from kubeweft.auth.subjectaccessreview import SubjectAccessReviewAuthorizer
from kubeweft.db.engine import Database
from kubeweft.db.migrate import migrate
from kubeweft.examples.webapp.api.v1 import WebApp
from kubeweft.localcluster import LocalCluster, find_binaries
from kubeweft.logging import configure_logging
from kubeweft.repositories import apikeys
from kubeweft.runtime.client import Client
from kubeweft.runtime.clock import FakeClock
from kubeweft.settings import Settings

INFO = WebApp.model_info
NAMESPACE = "bench-team-a"
ALICE = Identity("alice", ("system:authenticated",), method="kubernetes")
SECRET = "bench-secret-" + "x" * 32

RBAC = f"""
apiVersion: v1
kind: Namespace
metadata: {{name: {NAMESPACE}}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: webapp-editor, namespace: {NAMESPACE}}}
rules:
- apiGroups: [kubeweft.dev]
  resources: [webapps]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: [kubeweft.dev]
  resources: [webapps/annotations]
  verbs: [create, delete]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: alice-edit, namespace: {NAMESPACE}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: webapp-editor}}
subjects: [{{kind: User, apiGroup: rbac.authorization.k8s.io, name: alice}}]
"""


def _connection(authorization: str) -> HTTPConnection:
    headers = [(b"authorization", authorization.encode())]
    return HTTPConnection({"type": "http", "path": "/api/webapps", "headers": headers})


def _request_mix(index: int) -> tuple[Operation, str | None]:
    """A plausible UI session: lists, detail views of 10 apps, a few writes."""
    slot = index % 20
    name = f"app-{index % 10}"
    if slot < 4:
        return Operation.LIST, None
    if slot < 14:
        return Operation.GET, name
    if slot < 16:
        return Operation.READ_METRICS, name
    if slot < 18:
        return Operation.PATCH, name
    return Operation.CREATE_ANNOTATION, name


async def _timed(samples: int, call: Callable[[int], Awaitable[object]]) -> list[float]:
    durations = []
    for i in range(samples):
        started = time.perf_counter()
        await call(i)
        durations.append((time.perf_counter() - started) * 1000)
    return durations


def _report(label: str, durations: list[float]) -> None:
    ordered = sorted(durations)
    p50 = statistics.median(ordered)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    print(f"  {label:<44} p50 {p50:8.3f} ms   p95 {p95:8.3f} ms   (n={len(ordered)})")


async def run(cluster: LocalCluster, requests: int, samples: int) -> None:
    client = Client.from_kubeconfig(cluster.kubeconfig_path)
    try:
        print("authorization (SubjectAccessReview), added latency per request:")
        authorizer = SubjectAccessReviewAuthorizer(client)
        patch = attributes_for(INFO, Operation.PATCH, namespace=NAMESPACE, name="web")
        await authorizer.authorize(ALICE, patch)  # connection pool warm-up

        async def cold(i: int) -> object:
            authorizer.cache.clear()
            return await authorizer.authorize(ALICE, patch)

        _report("cold cache (one SAR per request)", await _timed(samples, cold))

        async def warm(i: int) -> object:
            return await authorizer.authorize(ALICE, patch)

        _report("warm cache", await _timed(samples * 10, warm))

        print(f"\nSubjectAccessReview calls per {requests} requests from one user:")
        clock = FakeClock()
        paced = SubjectAccessReviewAuthorizer(client, clock=clock)
        for i in range(requests):
            operation, name = _request_mix(i)
            attributes = attributes_for(INFO, operation, namespace=NAMESPACE, name=name)
            await paced.authorize(ALICE, attributes)
            clock.advance(0.1)
        print(f"  mixed UI traffic at 10 req/s, TTL 10 s:          {paced.reviews_sent}")

        burst = SubjectAccessReviewAuthorizer(client)
        async with anyio.create_task_group() as group:
            for _ in range(requests):
                group.start_soon(burst.authorize, ALICE, patch)
        print(f"  {requests} concurrent identical requests, cold cache: {burst.reviews_sent}")

        uncached = SubjectAccessReviewAuthorizer(client, allow_ttl=0, deny_ttl=0)
        for i in range(requests):
            operation, name = _request_mix(i)
            await uncached.authorize(
                ALICE, attributes_for(INFO, operation, namespace=NAMESPACE, name=name)
            )
        print(f"  same mix with caching off (TTL 0):               {uncached.reviews_sent}")

        print("\nauthentication, per request:")
        chain = build_authenticator(
            Settings(jwt_hs256_secret=SecretStr(SECRET), jwt_issuer="bench"), client, None
        )
        token = cluster.token_for("alice")
        assert chain.kubernetes is not None

        async def tokenreview_cold(i: int) -> object:
            chain.kubernetes._cache.clear()  # type: ignore[union-attr]
            return await chain.authenticate(_connection(f"Bearer {token}"))

        _report("Kubernetes token, cold (TokenReview)", await _timed(samples, tokenreview_cold))

        async def tokenreview_warm(i: int) -> object:
            return await chain.authenticate(_connection(f"Bearer {token}"))

        _report("Kubernetes token, warm (cached)", await _timed(samples * 10, tokenreview_warm))

        hs256 = jwt.encode(
            {"iss": "bench", "sub": "alice", "exp": int(time.time()) + 3600},
            SECRET,
            algorithm="HS256",
        )

        async def jwt_call(i: int) -> object:
            return await chain.authenticate(_connection(f"Bearer {hs256}"))

        _report("HS256 JWT", await _timed(samples * 10, jwt_call))

        with tempfile.TemporaryDirectory() as directory:
            url = f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}"
            await migrate(url)
            async with Database(url) as database:
                async with database.transaction() as session:
                    _, key = await apikeys.create_api_key(session, user="alice")
                keys = ApiKeyAuthenticator(database)

                async def api_key(i: int) -> object:
                    return await keys.verify(key)

                _report("API key (SQLite lookup + SHA-256)", await _timed(samples * 3, api_key))
    finally:
        await client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=300)
    args = parser.parse_args()
    configure_logging("WARNING", "console")
    with LocalCluster(binaries=find_binaries(), nodes=0) as cluster:
        cluster.apply(list(yaml.safe_load_all(RBAC)))
        anyio.run(run, cluster, args.requests, args.samples)


if __name__ == "__main__":
    main()
