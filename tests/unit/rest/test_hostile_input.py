"""Hostile request input: every parameter is bounded (a 4xx problem naming it) and parsed
in linear time, and a list page has a default and a maximum size.

The inputs are the shapes that stall a backtracking or recursive parser — long runs of
whitespace, nested brackets, repeated operators — at 1 KB, 4 KB and 16 KB. Nothing
here measures time (bench/parsers.py prints the figures); a parser that went
super-linear again would not get through these within the test timeout.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kubeweft.rest.routes.item import parse_if_match
from kubeweft.settings import Settings
from tests.unit.rest.conftest import Harness, build

pytestmark = pytest.mark.anyio

NEW = {"name": "shop", "namespace": "team-a", "spec": {"image": "nginx:1"}}
# httpx refuses a URL part over 64 KB (and the server a request head over 16 KB): the
# parsers get 100 KB directly in tests/unit/runtime/test_labels.py and below.
SIZES = [1024, 4 * 1024, 16 * 1024]  # percent-encoding may triple them


def _fields(response: httpx.Response) -> set[str]:
    assert response.headers["content-type"] == "application/problem+json", response.text
    return {error["field"] for error in response.json().get("errors") or []}


def _backtracking_selector(size: int) -> str:
    """The shape that made the old selector regex take seconds at 404 characters."""
    half = " " * ((size - 4) // 2)
    return f"a{half}in{half}!"


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(
    ("family", "params", "field"),
    [
        (
            "selector: whitespace runs",
            lambda n: {"labelSelector": _backtracking_selector(n)},
            "query.labelSelector",
        ),
        (
            "selector: nested parentheses",
            lambda n: {"labelSelector": "a in " + "(" * n},
            "query.labelSelector",
        ),
        (
            "selector: repeated operators",
            lambda n: {"labelSelector": "a" + "=" * n},
            "query.labelSelector",
        ),
        ("continue: base64 alphabet", lambda n: {"continue": "A" * n}, "query.continue"),
        (
            "continue: nested JSON",
            lambda n: {"continue": base64.urlsafe_b64encode(b"[" * n).decode()},
            "query.continue",
        ),
        ("limit: digits", lambda n: {"limit": "9" * n}, "query.limit"),
        ("limit: whitespace", lambda n: {"limit": "1" + " " * n + "x"}, "query.limit"),
    ],
)
async def test_oversized_list_parameters_are_refused_by_their_size_cap(
    harness: Harness, family: str, params: object, field: str, size: int
) -> None:
    response = await harness.http.get("/api/webapps", params=params(size))  # type: ignore[operator]
    assert response.status_code in (400, 422), family
    assert _fields(response) == {field}, family


@pytest.mark.parametrize(
    ("params", "field", "status"),
    [
        # Within the 1,024-character cap: the parser itself refuses them, in one pass.
        ({"labelSelector": _backtracking_selector(1000)}, "query.labelSelector", 400),
        ({"labelSelector": "a" + "=" * 1000}, "query.labelSelector", 400),
        ({"labelSelector": "!" * 1000}, "query.labelSelector", 400),
        ({"continue": "@" * 1000}, "query.continue", 400),
        ({"continue": base64.urlsafe_b64encode(b"[" * 700).decode()}, "query.continue", 400),
        (
            {"continue": base64.urlsafe_b64encode(b'{"v":1,"k":' + b"[" * 600).decode()},
            "query.continue",
            400,
        ),
        ({"limit": "0"}, "query.limit", 422),
        ({"limit": "-1"}, "query.limit", 422),
        ({"limit": "1e3"}, "query.limit", 422),
    ],
)
async def test_malformed_list_parameters_within_the_cap_are_a_problem_naming_them(
    harness: Harness, params: dict[str, str], field: str, status: int
) -> None:
    response = await harness.http.get("/api/webapps/team-a", params=params)
    assert response.status_code == status, response.text
    assert _fields(response) == {field}


@pytest.mark.parametrize("size", SIZES)
async def test_oversized_record_and_header_parameters_are_refused(
    harness: Harness, size: int
) -> None:
    assert (await harness.http.post("/api/webapps", json=NEW)).status_code == 201
    base = "/api/webapps/team-a/shop"
    cases = [
        (
            "GET",
            f"{base}/metrics",
            {"params": {"since": "2026-01-01T00:00:00" + " " * size}},
            "query.since",
        ),
        ("GET", f"{base}/metrics", {"params": {"since": "9" * size}}, "query.since"),
        ("GET", f"{base}/metrics", {"params": {"name": "n" * size}}, "query.name"),
        ("GET", f"{base}/history", {"params": {"limit": "9" * size}}, "query.limit"),
        (
            "PATCH",
            base,
            {"json": {"spec": {}}, "headers": {"If-Match": '"' + " " * size + '"'}},
            "header.if-match",
        ),
        ("GET", f"/api/webapps/team-a/{'a' * size}", {}, "path.name"),
        ("GET", f"/api/webapps/{'a.' * (size // 2)}", {}, "path.namespace"),
    ]
    for method, url, options, field in cases:
        response = await harness.http.request(method, url, **options)  # type: ignore[arg-type]
        assert response.status_code == 422, (field, response.text)
        assert _fields(response) == {field}


@pytest.mark.parametrize("depth", [1000, 10_000, 100_000])
async def test_deeply_nested_json_bodies_are_a_4xx_problem(harness: Harness, depth: int) -> None:
    assert (await harness.http.post("/api/webapps", json=NEW)).status_code == 201
    nested = '{"a":' * depth + "1" + "}" * depth
    patch = await harness.http.patch(
        "/api/webapps/team-a/shop",
        content='{"spec":' + nested + "}",
        headers={"content-type": "application/merge-patch+json"},
    )
    create = await harness.http.post(
        "/api/webapps",
        content='{"name":"x","namespace":"a","spec":{"image":"n","env":'
        + "[" * depth
        + "]" * depth
        + "}}",
        headers={"content-type": "application/json"},
    )
    for response in (patch, create):
        assert response.status_code in (400, 413, 422), response.text
        assert response.headers["content-type"] == "application/problem+json"


@given(st.text(max_size=300))
def test_if_match_parsing_takes_any_header_value(value: str) -> None:
    expected = parse_if_match(value)
    if value.strip() == "*":
        assert expected is None
    else:
        assert expected is not None
        assert all(tag and tag in value for tag in expected)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('"42"', {"42"}),
        ('W/"42"', {"42"}),
        (' "42" , W/"43",, "44"', {"42", "43", "44"}),
        ("*", None),
        (None, None),
        (" " * 100_000 + '"7"', {"7"}),
        ('"' + "," * 100_000, set()),
        ('"42", *', {"42", "*"}),  # ``*`` stands alone or is no wildcard
    ],
)
def test_if_match_takes_every_listed_entity_tag(
    value: str | None, expected: set[str] | None
) -> None:
    assert parse_if_match(value) == expected


# --- page size ---------------------------------------------------------------------------


@pytest.fixture
async def small_pages() -> AsyncIterator[httpx.AsyncClient]:
    app, *_ = build(Settings(dev_user="alice", list_default_limit=2, list_max_limit=3))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        for name in ("a", "b", "c", "d"):
            created = await http.post("/api/webapps", json={**NEW, "name": name})
            assert created.status_code == 201, created.text
        yield http


async def test_a_list_without_limit_gets_the_default_page_size(
    small_pages: httpx.AsyncClient,
) -> None:
    for url in ("/api/webapps", "/api/webapps/team-a"):
        first = (await small_pages.get(url)).json()
        assert [item["name"] for item in first["items"]] == ["a", "b"]
        rest = (await small_pages.get(url, params={"continue": first["continue"]})).json()
        assert [item["name"] for item in rest["items"]] == ["c", "d"]
        assert rest["continue"] is None


async def test_a_limit_up_to_the_maximum_is_served_and_over_it_is_422(
    small_pages: httpx.AsyncClient,
) -> None:
    page = (await small_pages.get("/api/webapps", params={"limit": 3})).json()
    assert [item["name"] for item in page["items"]] == ["a", "b", "c"]
    for url in ("/api/webapps", "/api/webapps/team-a"):
        refused = await small_pages.get(url, params={"limit": 4})
        assert refused.status_code == 422
        assert refused.json()["errors"] == [
            {"field": "query.limit", "message": "Input should be less than or equal to 3"}
        ]


async def test_the_openapi_document_states_the_configured_page_sizes(
    small_pages: httpx.AsyncClient,
) -> None:
    spec = (await small_pages.get("/openapi.json")).json()
    for path in ("/api/webapps", "/api/webapps/{namespace}"):
        (limit,) = [p for p in spec["paths"][path]["get"]["parameters"] if p["name"] == "limit"]
        assert (limit["schema"]["default"], limit["schema"]["maximum"]) == (2, 3)


def test_the_default_page_size_cannot_exceed_the_maximum() -> None:
    with pytest.raises(ValueError, match="list_default_limit"):
        Settings(list_default_limit=10, list_max_limit=5)
