"""The webhook server's app answers AdmissionReviews: a base64 JSON patch for the
defaulter, allowed/denied with the fields for the validator, 400 for a non-review."""

import base64
import json
from typing import Any

import httpx
import jsonpatch
import pytest

from kubeweft.examples.webapp import app
from kubeweft.webhook.server import admission_app

WEBHOOK = app.webhooks[0]


def review(operation: str, obj: Any, old: Any = None) -> dict[str, Any]:
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "0b5c-uid",
            "operation": operation,
            "namespace": "team-a",
            "name": "shop",
            "resource": {"group": "kubeweft.dev", "version": "v1", "resource": "webapps"},
            "userInfo": {"username": "alice", "groups": ["devs"]},
            "object": obj,
            "oldObject": old,
        },
    }


def webapp(image: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "kubeweft.dev/v1",
        "kind": "WebApp",
        "metadata": {"name": "shop", "namespace": "team-a"},
        "spec": {"image": image, **spec},
    }


async def post(path: str, body: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=admission_app(app.webhooks))
    async with httpx.AsyncClient(transport=transport, base_url="https://webhook") as http:
        return await http.post(path, content=json.dumps(body))


@pytest.mark.anyio
async def test_mutate_answers_with_a_json_patch_that_sets_the_requests() -> None:
    obj = webapp("shop:1.0")
    response = await post(WEBHOOK.mutate_path, review("CREATE", obj))
    answer = response.json()["response"]
    assert answer["uid"] == "0b5c-uid"
    assert answer["allowed"] is True
    assert answer["patchType"] == "JSONPatch"
    patched = jsonpatch.apply_patch(obj, json.loads(base64.b64decode(answer["patch"])))
    assert patched["spec"]["resources"] == {"requests": {"cpu": "100m", "memory": "128Mi"}}


@pytest.mark.anyio
async def test_validate_denies_an_untagged_image_naming_spec_image() -> None:
    response = await post(WEBHOOK.validate_path, review("CREATE", webapp("nginx")))
    answer = response.json()["response"]
    assert answer["allowed"] is False
    status = answer["status"]
    assert status["code"] == 422
    assert status["reason"] == "Invalid"
    assert status["message"].startswith("spec.image: 'nginx' has no tag")
    assert [c["field"] for c in status["details"]["causes"]] == ["spec.image"]


@pytest.mark.anyio
async def test_validate_allows_an_update_that_keeps_an_old_untagged_image() -> None:
    old, new = webapp("nginx"), webapp("nginx", replicas=3)
    response = await post(WEBHOOK.validate_path, review("UPDATE", new, old))
    assert response.json()["response"]["allowed"] is True
    changed = review("UPDATE", webapp("nginx:latest"), webapp("nginx:1"))
    response = await post(WEBHOOK.validate_path, changed)
    assert response.json()["response"]["allowed"] is False


@pytest.mark.anyio
async def test_a_body_that_is_no_admission_review_is_a_400() -> None:
    response = await post(WEBHOOK.validate_path, {"kind": "Pod"})
    assert response.status_code == 400
