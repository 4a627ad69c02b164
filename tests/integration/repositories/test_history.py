"""Deployment history repository on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from kubeweft.db.engine import Database
from kubeweft.db.records import HistoryRecord
from kubeweft.db.types import utcnow
from kubeweft.repositories import ValidationError, history, unit_of_work

pytestmark = pytest.mark.anyio


def change(uid: str, generation: int, image: str = "nginx:1", **kw: object) -> HistoryRecord:
    return HistoryRecord(
        uid=uid,
        namespace="default",
        name="web",
        kind="WebApp",
        generation=generation,
        spec={"image": image, "replicas": generation},
        **kw,  # type: ignore[arg-type]
    )


async def test_exactly_once_per_generation(database: Database) -> None:
    uid = str(uuid.uuid4())
    async with unit_of_work(database) as session:
        assert await history.record_change(session, change(uid, 1)) is True
        assert await history.record_change(session, change(uid, 1, image="other")) is False
        assert await history.record_change(session, change(uid, 2, image="nginx:2")) is True
    async with database.session() as session:
        rows = await history.history_by_uid(session, uid)
    assert [(r.generation, r.spec["image"]) for r in rows] == [(2, "nginx:2"), (1, "nginx:1")]
    # The patch is the RFC 6902 diff from the previous generation's spec.
    assert rows[1].patch is None
    assert rows[0].patch == [
        {"op": "replace", "path": "/image", "value": "nginx:2"},
        {"op": "replace", "path": "/replicas", "value": 2},
    ]
    assert rows[0].created_at.tzinfo is not None


async def test_history_for_many_uids_keeps_latest_per_uid(database: Database) -> None:
    uids = [str(uuid.uuid4()) for _ in range(5)]
    async with unit_of_work(database) as session:
        for n, uid in enumerate(uids):
            for generation in range(1, n + 2):
                await history.record_change(session, change(uid, generation))
    async with database.session() as session:
        result = await history.history_for(session, [*uids, str(uuid.uuid4())], limit_per_uid=3)
    assert len(result) == 6
    for n, uid in enumerate(uids):
        expected = list(range(n + 1, 0, -1))[:3]
        assert [r.generation for r in result[uid]] == expected
    assert sum(1 for rows in result.values() if not rows) == 1


async def test_by_actor_and_time_range(database: Database) -> None:
    uid = str(uuid.uuid4())
    t0 = utcnow() - timedelta(hours=1)
    async with unit_of_work(database) as session:
        await history.record_change(session, change(uid, 1, actor="alice", created_at=t0))
        await history.record_change(
            session, change(uid, 2, actor="bob", created_at=t0 + timedelta(minutes=10))
        )
        await history.record_change(
            session, change(uid, 3, actor="alice", created_at=t0 + timedelta(minutes=20))
        )
    async with database.session() as session:
        alice = await history.history_by_actor(session, "alice")
        window = await history.history_in_range(
            session, t0 + timedelta(minutes=5), t0 + timedelta(minutes=15)
        )
        assert [r.generation for r in alice] == [3, 1]
        assert [r.generation for r in window] == [2]
    async with unit_of_work(database) as session:
        assert await history.delete_history(session, uid) == 3
    async with database.session() as session:
        assert await history.history_by_uid(session, uid) == []


async def test_bad_uid_is_rejected(database: Database) -> None:
    async with database.session() as session:
        with pytest.raises(ValidationError) as err:
            await history.history_by_uid(session, "not-a-uid")
        assert err.value.field == "uid"
        with pytest.raises(ValidationError):
            await history.record_change(session, change("web-1", 1))
    with pytest.raises(ValueError, match="uid must not be empty"):
        change("", 1)  # a record is checked where it is built
