"""``/convert`` answers ConversionReviews: converted objects on success, ``Failed`` with
a message naming the object when one cannot be converted, 400 for what is no review;
never a 500."""

import json
from typing import Any

import httpx
import pytest

from kubeweft.api.conversion import Conversion
from kubeweft.webhook.server import admission_app
from tests.support.versioned import GaugeV1, GaugeV2

pytestmark = pytest.mark.anyio

APP = admission_app([], [Conversion(GaugeV2, (GaugeV1,))])


def review(desired: str, *objects: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "ConversionReview",
        "request": {"uid": "c0ffee", "desiredAPIVersion": desired, "objects": list(objects)},
    }


def gauge(version: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": f"versioned.kubeweft.test/{version}",
        "kind": "Gauge",
        "metadata": {"name": name},
        "spec": spec,
    }


async def post(body: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=APP)
    async with httpx.AsyncClient(transport=transport, base_url="https://webhook") as http:
        content = body if isinstance(body, bytes) else json.dumps(body)
        return await http.post("/convert", content=content)


async def test_every_object_of_a_review_is_converted() -> None:
    response = await post(
        review(
            "versioned.kubeweft.test/v2",
            gauge("v1", "a", {"threshold": 1}),
            gauge("v2", "b", {"thresholds": [2, 3]}),
        )
    )
    assert response.status_code == 200
    body = response.json()
    assert body["apiVersion"] == "apiextensions.k8s.io/v1"
    assert body["kind"] == "ConversionReview"
    assert body["response"]["uid"] == "c0ffee"
    assert body["response"]["result"] == {"status": "Success"}
    converted = body["response"]["convertedObjects"]
    assert [o["spec"]["thresholds"] for o in converted] == [[1], [2, 3]]
    assert {o["apiVersion"] for o in converted} == {"versioned.kubeweft.test/v2"}


@pytest.mark.parametrize(
    ("request_objects", "desired", "message"),
    [
        ([gauge("v1", "bad", {"threshold": "high"})], "v2", "v1 Gauge bad: spec.threshold"),
        ([gauge("v1", "x", {})], "v7", "no version 'versioned.kubeweft.test/v7'"),
        ([{**gauge("v1", "x", {}), "kind": "Dial"}], "v2", "no conversion for kind 'Dial'"),
        (["not an object"], "v2", "not an object"),
    ],
)
async def test_an_object_that_cannot_be_converted_fails_the_review_with_a_message(
    request_objects: list[Any], desired: str, message: str
) -> None:
    good = gauge("v1", "good", {"threshold": 1})
    body = review(f"versioned.kubeweft.test/{desired}", good, *request_objects)
    response = await post(body)
    assert response.status_code == 200
    answer = response.json()["response"]
    assert answer["uid"] == "c0ffee"
    assert answer["result"]["status"] == "Failed"
    assert message in answer["result"]["message"]
    assert answer["convertedObjects"] == []


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        {"kind": "ConversionReview"},
        {"request": {"uid": "1", "desiredAPIVersion": "v1"}},
        {"request": {"uid": "1", "desiredAPIVersion": "v1", "objects": {}}},
        {"request": ["uid"]},
    ],
)
async def test_what_is_no_conversion_review_is_a_400(body: Any) -> None:
    response = await post(body)
    assert response.status_code == 400
    assert "not a ConversionReview" in response.json()["message"]


async def test_without_versions_there_is_no_convert_route() -> None:
    transport = httpx.ASGITransport(app=admission_app([]))
    async with httpx.AsyncClient(transport=transport, base_url="https://webhook") as http:
        assert (await http.post("/convert", content=b"{}")).status_code == 404


class BrokenGaugeV1(GaugeV1):
    def convert_to(self, restored: GaugeV2 | None) -> GaugeV2:
        raise RuntimeError("a bug in the project's conversion")


async def test_a_conversion_that_raises_fails_the_review_without_a_500() -> None:
    transport = httpx.ASGITransport(app=admission_app([], [Conversion(GaugeV2, (BrokenGaugeV1,))]))
    async with httpx.AsyncClient(transport=transport, base_url="https://webhook") as http:
        body = review("versioned.kubeweft.test/v2", gauge("v1", "a", {"threshold": 1}))
        response = await http.post("/convert", content=json.dumps(body))
    assert response.status_code == 200
    result = response.json()["response"]["result"]
    assert result == {
        "status": "Failed",
        "message": "versioned.kubeweft.test/v1 Gauge a: the conversion webhook failed",
    }
