"""``POST .../rollback`` on in-memory fakes: what the real-server tests cannot reach
cheaply — ``If-Match: *`` is no guard, a spec equal to the current one writes nothing, a
recorded spec today's spec class refuses names its field, and the write carries the
rollback stamp the reconciler records (tests/integration/rest/test_rollback.py covers
the rest on the real API server and databases)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from kubeweft.api import ObjectMeta
from kubeweft.api.changes import CHANGED_BY_ANNOTATION, Change, change_of
from kubeweft.views.records import HistoryEntry
from tests.support.models import Zone, ZoneSpec
from tests.unit.rest.conftest import Harness, build

pytestmark = pytest.mark.anyio

PATH = "/api/zones/eu/rollback"


@pytest.fixture
async def zones() -> AsyncIterator[Harness]:
    app, kube, store, authorizer, context = build(models=(Zone,))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield Harness(app, http, kube, store, authorizer, context)


async def _zone(h: Harness, *past: dict[str, Any]) -> Any:
    """Zone ``eu`` at capacity 3, with ``past`` specs recorded as generations 1, 2, …"""
    created = await h.kube.create(Zone(metadata=ObjectMeta(name="eu"), spec=ZoneSpec(capacity=3)))
    now, uid = datetime.now(UTC), created.metadata.uid
    assert uid is not None
    h.store.history_rows[uid] = [
        HistoryEntry(generation, spec, None, "bob", "reconciler", now)
        for generation, spec in reversed(list(enumerate(past, start=1)))
    ]
    return created


def _etag(obj: Any) -> str:
    return f'"{obj.metadata.resourceVersion}"'


async def test_a_wildcard_if_match_is_no_guard(zones: Harness) -> None:
    await _zone(zones, {"capacity": 5})
    answer = await zones.http.post(PATH, json={"generation": 1}, headers={"If-Match": "*"})
    assert answer.status_code == 428
    assert [e["field"] for e in answer.json()["errors"]] == ["header.if-match"]


async def test_the_recorded_spec_is_written_with_the_rollback_stamp(zones: Harness) -> None:
    created = await _zone(zones, {"capacity": 5, "description": "first"})
    answer = await zones.http.post(
        PATH, json={"generation": 1}, headers={"If-Match": _etag(created)}
    )
    assert answer.status_code == 200, answer.text
    written = await zones.kube.get(Zone, "eu")
    assert answer.headers["etag"] == _etag(written) != _etag(created)
    wire = written.spec.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert wire == {"capacity": 5, "description": "first"}
    assert change_of(written.metadata.annotations, wire) == Change("alice", rolled_back_to=1)
    assert [(a.verb, a.outcome, a.status_code) for a in zones.store.audits] == [
        ("rollback", "success", 200)
    ]
    assert zones.authorizer.asked[-1].verb == "update"


async def test_the_current_spec_again_writes_nothing(zones: Harness) -> None:
    created = await _zone(zones, {"capacity": 3, "description": ""})
    answer = await zones.http.post(
        PATH, json={"generation": 1}, headers={"If-Match": _etag(created)}
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["etag"] == _etag(created)
    unchanged = await zones.kube.get(Zone, "eu")
    assert unchanged.metadata.resourceVersion == created.metadata.resourceVersion
    assert CHANGED_BY_ANNOTATION not in (unchanged.metadata.annotations or {})


async def test_a_recorded_spec_the_model_no_longer_accepts_names_its_field(
    zones: Harness,
) -> None:
    created = await _zone(zones, {"capacity": 5000})
    answer = await zones.http.post(
        PATH, json={"generation": 1}, headers={"If-Match": _etag(created)}
    )
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in answer.json()["errors"]] == ["spec.capacity"]
    assert (await zones.kube.get(Zone, "eu")).spec.capacity == 3
