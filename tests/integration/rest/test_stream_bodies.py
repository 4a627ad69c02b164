"""Live-update event data on SQLite and PostgreSQL: each change's ``<Kind>ListItem``
carries its latest samples and the project's own fields, read once per burst.

The watch cache is fed by hand (as the informer feeds it); the database side is
kubeweft's repositories and a project loader on a real database.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import event, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from kubeweft.api import ObjectMeta
from kubeweft.db.engine import Database
from kubeweft.db.records import MetricSample
from kubeweft.db.types import utcnow
from kubeweft.repositories import metrics, unit_of_work
from kubeweft.rest.context import AppContext
from kubeweft.rest.routes.model import ModelRoutes
from kubeweft.rest.streambodies import StreamBodies
from kubeweft.settings import Settings
from kubeweft.views.detail_fields import DetailFields, FieldSource
from kubeweft.views.repository_source import RepositorySource
from kubeweft.views.watchcache import WatchCache
from tests.support.models import Zone, ZoneSpec

pytestmark = pytest.mark.anyio


class ZoneOwners(BaseModel):
    owners: list[str] = []


class Informer:
    """What the watch cache reads of an informer: its version."""

    resource_version = "1"

    def add_event_handler(self, handler: Any) -> None: ...


@contextmanager
def statements(database: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", before)


def zone(name: str, version: int, uid: str) -> Zone:
    meta = ObjectMeta(name=name, uid=uid, resourceVersion=str(version))
    return Zone(metadata=meta, spec=ZoneSpec(capacity=version))


async def test_a_burst_reads_its_database_fields_once_for_every_stream(
    database: Database,
) -> None:
    loads: list[list[str]] = []

    async def load_owners(session: AsyncSession, uids: Sequence[str]) -> Mapping[str, ZoneOwners]:
        loads.append(list(uids))
        await session.execute(select(literal(1)))  # the project's one statement
        return {uid: ZoneOwners(owners=[f"team-{i}"]) for i, uid in enumerate(sorted(uids))}

    declared = DetailFields(Zone, ZoneOwners, load_owners)
    ctx = AppContext(
        settings=Settings(),
        models=(Zone,),
        client=None,  # type: ignore[arg-type]
        reader=None,  # type: ignore[arg-type]
        store=RepositorySource(database),
        authenticator=None,  # type: ignore[arg-type]
        authorizer=None,  # type: ignore[arg-type]
        fields=FieldSource(database, [declared]),
    )
    uids = sorted(str(uuid.uuid4()) for _ in range(3))
    async with unit_of_work(database) as session:
        await metrics.record_samples(
            session,
            [
                MetricSample(uid=uid, name="used", value=float(i), ts=utcnow() - timedelta(1))
                for i, uid in enumerate(uids)
            ],
        )
    cache = WatchCache(Informer(), capacity=10)
    for version, uid in enumerate(uids, start=2):  # a burst: three zones change
        cache.on_update(zone(f"z{version}", 1, uid), zone(f"z{version}", version, uid))
    burst = cache.without_payload()
    assert len(burst) == 3
    bodies = StreamBodies(ModelRoutes.of(Zone, [declared]))

    with statements(database) as seen:
        await bodies.fill(ctx, cache, burst[:1])  # the first stream sends one of them
        await bodies.fill(ctx, cache, burst)  # a second stream, the whole burst: no read
    assert len([s for s in seen if "metric_latest" in s]) == 1, seen
    assert loads == [uids]  # one loader call, for the whole burst

    items = [json.loads(change.payload or "") for change in burst]
    assert [item["latestMetrics"]["used"]["value"] for item in items] == [0.0, 1.0, 2.0]
    assert [item["owners"] for item in items] == [["team-0"], ["team-1"], ["team-2"]]
    assert [item["spec"]["capacity"] for item in items] == [2, 3, 4]
    assert all(isinstance(item["healthScore"], int) for item in items)

    await database.aclose()  # the database goes away: the object still goes out
    later = StreamBodies(ModelRoutes.of(Zone, [declared]))
    (item,) = [json.loads(p) for p in await later.bodies(ctx, [zone("z9", 9, uids[0])])]
    assert (item["latestMetrics"], item["owners"]) == ({}, [])
