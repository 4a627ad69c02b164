"""Bad input and unknown routes: always a 4xx problem+json body that names the field."""

from __future__ import annotations

import httpx
import pytest

from kubeweft.settings import Settings
from tests.unit.rest.conftest import Harness, build

pytestmark = pytest.mark.anyio

PROBLEM = "application/problem+json"


async def test_unknown_route_is_a_404_problem(harness: Harness) -> None:
    response = await harness.http.get("/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["instance"] == "/nowhere"


async def test_wrong_method_is_a_405_problem(harness: Harness) -> None:
    response = await harness.http.put("/api/webapps/ns/name", json={})
    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/api/webapps/ns/name", "DELETE, GET, PATCH"),
        ("OPTIONS", "/api/webapps/ns/name", "DELETE, GET, PATCH"),
        ("HEAD", "/api/webapps/ns/name", "DELETE, GET, PATCH"),
        ("DELETE", "/api/webapps", "GET, POST"),
        ("POST", "/api/webapps/ns", "GET"),
        ("PUT", "/api/webapps/ns/name/annotations", "GET, POST"),
        ("GET", "/api/webapps/ns/name/annotations/7", "DELETE"),
    ],
)
async def test_a_405_allows_every_method_of_the_path(
    harness: Harness, method: str, path: str, allow: str
) -> None:
    # Starlette names only the first matching route's methods; a path served by
    # several routes must list them all, and nothing else.
    response = await harness.http.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allow


async def test_malformed_json_is_400_naming_the_body(harness: Harness) -> None:
    response = await harness.http.post(
        "/api/webapps", content=b'{"name": "x",', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["errors"][0]["field"] == "body"


async def test_wrong_types_are_422_naming_each_field(harness: Harness) -> None:
    body = {"name": 5, "namespace": "ns", "spec": {"image": "x", "replicas": "many"}}
    response = await harness.http.post("/api/webapps", json=body)
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"name", "spec.replicas"}


async def test_unknown_fields_are_422(harness: Harness) -> None:
    body = {"name": "a", "namespace": "ns", "spec": {"image": "x"}, "colour": "red"}
    response = await harness.http.post("/api/webapps", json=body)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["colour"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/webapps/Bad_NS/name",
        "/api/webapps/ns/UPPER",
        "/api/webapps/ns/-lead",
        "/api/webapps/" + "n" * 64,
    ],
)
async def test_path_parameters_must_be_kubernetes_names(harness: Harness, path: str) -> None:
    response = await harness.http.get(path)
    assert response.status_code == 422
    fields = [e["field"] for e in response.json()["errors"]]
    assert fields
    assert all(f in ("path.namespace", "path.name") for f in fields)


async def test_body_over_the_limit_is_413_by_content_length() -> None:
    app, *_ = build(Settings(dev_user="alice", max_body_bytes=1024))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        response = await http.post("/api/webapps", content=b"x" * (10 * 1024 * 1024))
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM


async def test_streamed_body_over_the_limit_is_413() -> None:
    app, *_ = build(Settings(dev_user="alice", max_body_bytes=1024))

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(10):
            yield b"y" * 512

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        response = await http.post("/api/webapps", content=chunks())
    assert response.status_code == 413


async def test_unexpected_errors_leave_no_trace_for_the_client(harness: Harness) -> None:
    async def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals")

    harness.store.resource_records = boom  # type: ignore[method-assign]
    await harness.http.post(
        "/api/webapps", json={"name": "a", "namespace": "n", "spec": {"image": "x"}}
    )
    response = await harness.http.get("/api/webapps/n/a")
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    assert "secret" not in response.text
    assert "Traceback" not in response.text


async def test_authentication_failure_is_401_with_bearer_challenge(harness: Harness) -> None:
    from kubeweft.auth.identity import AuthenticationError

    class Refuse:
        async def authenticate(self, connection: object) -> None:
            raise AuthenticationError("no token")

    harness.context.authenticator = Refuse()  # type: ignore[assignment]
    response = await harness.http.get("/api/webapps")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "no token" not in response.text


@pytest.mark.parametrize("path", ["/api/webapps", "/api/webapps/ns"])
async def test_malformed_label_selector_is_400_even_with_nothing_to_match(
    harness: Harness, path: str
) -> None:
    response = await harness.http.get(path, params={"labelSelector": "app in web"})
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    message = "'in' needs a parenthesised set in 'app in web'"
    assert body["errors"] == [{"field": "query.labelSelector", "message": message}]


@pytest.mark.parametrize("since", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
async def test_a_since_with_no_utc_value_is_422_naming_it(harness: Harness, since: str) -> None:
    created = await harness.http.post(
        "/api/webapps", json={"name": "shop", "namespace": "ns", "spec": {"image": "x"}}
    )
    assert created.status_code == 201
    response = await harness.http.get("/api/webapps/ns/shop/metrics", params={"since": since})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert [e["field"] for e in response.json()["errors"]] == ["query.since"]
