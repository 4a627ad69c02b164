"""The client's own logic against a scripted transport: retry decisions, error mapping,
request shape. Real API behaviour is tested in tests/integration/runtime/test_client.py."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx2 as httpx
import pytest
from lightkube.config.kubeconfig import KubeConfig
from lightkube.config.models import Cluster, User
from lightkube.resources.apps_v1 import Deployment

from kubeweft.examples.webapp.api.v1 import WebApp, WebAppSpec
from kubeweft.runtime import errors
from kubeweft.runtime.client import Client, Preconditions
from kubeweft.runtime.config import ClusterConfig
from kubeweft.runtime.retry import RetryPolicy

FAST = RetryPolicy(max_attempts=4, base_delay=0.001, max_delay=0.002)

WEBAPP = {
    "apiVersion": "kubeweft.dev/v1",
    "kind": "WebApp",
    "metadata": {"name": "web", "namespace": "ns", "resourceVersion": "7", "uid": "u1"},
    "spec": {"image": "nginx", "replicas": 2},
}


def status(code: int, reason: str, message: str = "", **details: object) -> httpx.Response:
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "code": code,
        "reason": reason,
        "message": message,
        "details": details,
    }
    return httpx.Response(code, json=body)


def make_client(
    handler: Callable[[httpx.Request], httpx.Response], retry: RetryPolicy = FAST
) -> Client:
    single = KubeConfig.from_one(
        cluster=Cluster(server="http://kube.test"), user=User(token="t"), namespace="ns"
    ).get()
    assert single is not None
    return Client.from_config(
        ClusterConfig(single), retry=retry, transport=httpx.MockTransport(handler)
    )


@pytest.mark.anyio
async def test_get_decodes_into_the_kind_and_builds_the_custom_resource_url() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=WEBAPP)

    async with make_client(handler) as client:
        app = await client.get(WebApp, "web", "ns")
    assert isinstance(app, WebApp)
    assert app.spec.replicas == 2
    assert seen[0].url.path == "/apis/kubeweft.dev/v1/namespaces/ns/webapps/web"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (status(404, "NotFound"), errors.NotFound),
        (status(409, "AlreadyExists"), errors.AlreadyExists),
        (status(409, "Conflict"), errors.Conflict),
        (status(403, "Forbidden"), errors.Forbidden),
        (status(401, "Unauthorized"), errors.Unauthorized),
        (status(410, "Expired"), errors.Gone),
        (status(400, "BadRequest"), errors.BadRequest),
    ],
)
async def test_client_errors_are_typed_and_not_retried(
    response: httpx.Response, expected: type[errors.ApiError]
) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return response

    async with make_client(handler) as client:
        with pytest.raises(expected):
            await client.get(WebApp, "web", "ns")
    assert calls == 1


@pytest.mark.anyio
async def test_invalid_carries_field_causes() -> None:
    causes = [{"field": "spec.replicas", "reason": "FieldValueInvalid", "message": "too big"}]

    def handler(request: httpx.Request) -> httpx.Response:
        return status(422, "Invalid", "WebApp is invalid", causes=causes)

    async with make_client(handler) as client:
        with pytest.raises(errors.Invalid) as info:
            await client.create(WebApp(metadata={"name": "w"}, spec=WebAppSpec(image="x")))
    assert info.value.causes == [errors.Cause("spec.replicas", "FieldValueInvalid", "too big")]


@pytest.mark.anyio
async def test_transient_failures_are_retried_then_succeed() -> None:
    replies = [status(503, "ServiceUnavailable"), status(500, "InternalError")]

    def handler(request: httpx.Request) -> httpx.Response:
        return replies.pop(0) if replies else httpx.Response(200, json=WEBAPP)

    async with make_client(handler) as client:
        app = await client.get(WebApp, "web", "ns")
    assert app.metadata.name == "web"
    assert replies == []


@pytest.mark.anyio
async def test_connection_errors_are_retried() -> None:
    failures = 2

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal failures
        if failures:
            failures -= 1
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json=WEBAPP)

    async with make_client(handler) as client:
        await client.get(WebApp, "web", "ns")
    assert failures == 0


@pytest.mark.anyio
async def test_retries_stop_at_max_attempts() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return status(500, "InternalError")

    async with make_client(handler) as client:
        with pytest.raises(errors.ServerError):
            await client.get(WebApp, "web", "ns")
    assert calls == FAST.max_attempts


@pytest.mark.anyio
async def test_post_is_not_repeated_after_an_ambiguous_timeout() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        raise httpx.ReadTimeout("slow", request=request)

    async with make_client(handler) as client:
        with pytest.raises(errors.Timeout):
            await client.create(WebApp(metadata={"name": "w"}, spec=WebAppSpec(image="x")))
    assert calls == 1


@pytest.mark.anyio
async def test_post_is_retried_after_429_and_connect_errors() -> None:
    replies: list[httpx.Response | None] = [status(429, "TooManyRequests"), None]

    def handler(request: httpx.Request) -> httpx.Response:
        if replies:
            reply = replies.pop(0)
            if reply is None:
                raise httpx.ConnectError("refused", request=request)
            return reply
        return httpx.Response(201, json=WEBAPP)

    async with make_client(handler) as client:
        await client.create(WebApp(metadata={"name": "w"}, spec=WebAppSpec(image="x")))
    assert replies == []


def test_retry_after_is_honoured_and_capped() -> None:
    policy = RetryPolicy(max_retry_after=5.0)
    error = errors.error_from_status(429, {"reason": "TooManyRequests"}, retry_after_header="3")
    assert isinstance(error, errors.TooManyRequests)
    assert policy.delay(1, error) == 3.0
    huge = errors.error_from_status(429, {}, retry_after_header="600")
    assert policy.delay(1, huge) == 5.0


def test_backoff_grows_exponentially_within_jittered_bounds_and_is_capped() -> None:
    policy = RetryPolicy(base_delay=0.1, max_delay=1.0)
    error = errors.ServerError(500)
    for attempt, ceiling in [(1, 0.1), (2, 0.2), (3, 0.4), (4, 0.8), (5, 1.0), (9, 1.0)]:
        delays = [policy.delay(attempt, error) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)


def test_retry_decisions() -> None:
    policy = RetryPolicy(max_attempts=3)
    conflict = errors.Conflict(409, "Conflict")
    assert not policy.should_retry(conflict, attempt=1, idempotent=True)
    assert not policy.should_retry(errors.Invalid(422), attempt=1, idempotent=True)
    assert policy.should_retry(errors.ServerError(500), attempt=2, idempotent=True)
    assert not policy.should_retry(errors.ServerError(500), attempt=3, idempotent=True)
    assert not policy.should_retry(errors.ServerError(500), attempt=1, idempotent=False)
    assert policy.should_retry(errors.ServerError(503), attempt=1, idempotent=False)


@pytest.mark.anyio
async def test_delete_sends_propagation_policy_and_preconditions() -> None:
    bodies: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.method == "DELETE"
        assert request.url.path == "/apis/apps/v1/namespaces/ns/deployments/d"
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json={"kind": "Status", "status": "Success"})

    async with make_client(handler) as client:
        await client.delete(
            Deployment,
            "d",
            "ns",
            propagation_policy="Foreground",
            preconditions=Preconditions(uid="u1", resource_version="9"),
        )
    assert bodies[0]["propagationPolicy"] == "Foreground"
    assert bodies[0]["preconditions"] == {"uid": "u1", "resourceVersion": "9"}


@pytest.mark.anyio
async def test_impersonation_headers_and_shared_pool() -> None:
    headers: list[httpx.Headers] = []

    def handler(request: httpx.Request) -> httpx.Response:
        headers.append(request.headers)
        return httpx.Response(200, json=WEBAPP)

    async with make_client(handler) as client:
        alice = client.impersonating("alice", ["dev", "ops"])
        await alice.get(WebApp, "web", "ns")
        await alice.aclose()  # does not close the shared pool
        await client.get(WebApp, "web", "ns")
    assert headers[0]["Impersonate-User"] == "alice"
    assert headers[0].get_list("Impersonate-Group") == ["dev", "ops"]
    assert "Impersonate-User" not in headers[1]


@pytest.mark.anyio
async def test_watch_surfaces_bookmarks_and_maps_error_events() -> None:
    lines = [
        {"type": "ADDED", "object": WEBAPP},
        {"type": "BOOKMARK", "object": {"kind": "WebApp", "metadata": {"resourceVersion": "12"}}},
        {"type": "ERROR", "object": {"kind": "Status", "code": 410, "reason": "Expired"}},
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.params["allowWatchBookmarks"] == "true"
        assert request.url.params["resourceVersion"] == "5"
        body = "\n".join(json.dumps(line) for line in lines) + "\n"
        return httpx.Response(200, content=body.encode())

    seen: list[tuple[str, str]] = []

    async def consume(client: Client) -> None:
        async for event in client.watch(WebApp, resource_version="5"):
            seen.append((event.type, event.resource_version))

    async with make_client(handler) as client:
        with pytest.raises(errors.Gone):
            await consume(client)
    assert seen == [("ADDED", "7"), ("BOOKMARK", "12")]
