"""How the API server's refusals reach a REST client: each status as its problem.

The API server's answer is built with ``errors.error_from_status`` — the parser the
real client uses on a ``metav1.Status`` — and raised by the fake client's next write.
403 and 422 are also tested against the real API server
(``tests/integration/rest/test_kube_refusals.py``); 429 and 5xx cannot be provoked
there on demand, so they are mapped here.
"""

from __future__ import annotations

from typing import Any

import pytest

from kubeweft.runtime import errors
from tests.unit.rest.conftest import Harness

pytestmark = pytest.mark.anyio

BODY = {"name": "shop", "namespace": "default", "spec": {"image": "nginx:1"}}


def status(code: int, reason: str, message: str, **details: Any) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "code": code,
        "reason": reason,
        "message": message,
        "details": details,
    }


async def create_refused(harness: Harness, error: errors.ApiError) -> Any:
    harness.kube.fail_next["create"] = error
    response = await harness.http.post("/api/webapps", json=BODY)
    assert response.headers["content-type"] == "application/problem+json", response.text
    return response


async def test_throttled_429_is_a_503_with_retry_after(harness: Harness) -> None:
    error = errors.error_from_status(
        429, status(429, "TooManyRequests", "too many requests"), retry_after_header="7"
    )
    response = await create_refused(harness, error)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "7"
    assert "throttling" in response.json()["detail"]


async def test_throttled_429_without_a_hint_retries_after_a_second(harness: Harness) -> None:
    error = errors.error_from_status(429, status(429, "TooManyRequests", "slow down"))
    response = await create_refused(harness, error)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"


@pytest.mark.parametrize(
    ("code", "reason"),
    [(500, "InternalError"), (503, "ServiceUnavailable"), (504, "Timeout")],
)
async def test_api_server_failures_are_502_and_hide_the_message(
    harness: Harness, code: int, reason: str
) -> None:
    error = errors.error_from_status(code, status(code, reason, "etcdserver: secret detail"))
    response = await create_refused(harness, error)
    assert response.status_code == 502
    assert response.json()["type"].endswith("/kubernetes-unavailable")
    assert "etcdserver" not in response.text


async def test_forbidden_403_is_a_403_problem(harness: Harness) -> None:
    error = errors.error_from_status(403, status(403, "Forbidden", "webapps is forbidden"))
    response = await create_refused(harness, error)
    assert response.status_code == 403
    assert "webapps default/shop" in response.json()["detail"]


async def test_invalid_422_names_each_field(harness: Harness) -> None:
    causes = [
        {"field": "spec.replicas", "reason": "FieldValueInvalid", "message": "must be >= 0"},
        {"field": "metadata.labels", "reason": "FieldValueInvalid", "message": "bad key"},
    ]
    error = errors.error_from_status(
        422, status(422, "Invalid", "WebApp is invalid", causes=causes)
    )
    response = await create_refused(harness, error)
    assert response.status_code == 422
    fields = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert fields == {"spec.replicas": "must be >= 0", "labels": "bad key"}
