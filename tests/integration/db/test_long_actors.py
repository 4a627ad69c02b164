"""Kubernetes usernames longer than 255 characters are stored whole, on SQLite and PostgreSQL.

A service account's username reaches ~340 characters and an OIDC one is issuer + "#" +
subject. With VARCHAR(255) PostgreSQL refused such rows: the audit entry was lost and
the history row was dropped by the record writer as poison. Both are written and read
back here, through the same paths the process uses (the repositories for audit,
annotations and API keys; the RecordWriter for history).
"""

from __future__ import annotations

import uuid

import anyio
import pytest

from kubeweft.db.engine import Database
from kubeweft.db.records import HistoryRecord
from kubeweft.db.writer import RecordWriter
from kubeweft.repositories import annotations, apikeys, audit, history

pytestmark = pytest.mark.anyio

# 400 characters, shaped like an OIDC username (issuer + "#" + subject).
ACTOR = ("https://idp.example/realms/" + "r" * 180 + "#" + "s" * 400)[:400]


async def test_audit_row_with_a_400_character_actor(database: Database) -> None:
    assert len(ACTOR) == 400
    async with database.transaction() as session:
        await audit.record_audit(
            session, actor=ACTOR, verb="patch", target_kind="WebApp", outcome="allowed"
        )
    async with database.session() as session:
        (row,) = await audit.audit_by_actor(session, ACTOR)
    assert row.actor == ACTOR


async def test_history_row_with_a_400_character_actor_is_never_dropped(
    database: Database,
) -> None:
    uid = str(uuid.uuid4())
    writer = RecordWriter(database)
    async with anyio.create_task_group() as tg:
        await tg.start(writer.run)
        writer.submit(
            HistoryRecord(
                uid=uid,
                namespace="default",
                name="web",
                kind="WebApp",
                generation=1,
                spec={"image": "nginx:1.27", "replicas": 1},
                actor=ACTOR,
                source="api",
            )
        )
        assert await writer.flush(60)
        tg.cancel_scope.cancel()
    assert (writer.written, writer.dropped) == (1, 0)
    async with database.session() as session:
        rows = await history.history_by_actor(session, ACTOR)
    assert [(r.uid, r.actor) for r in rows] == [(uid, ACTOR)]


async def test_annotation_author_and_api_key_user_of_400_characters(database: Database) -> None:
    uid = str(uuid.uuid4())
    async with database.transaction() as session:
        note = await annotations.create_annotation(
            session, uid=uid, namespace="default", name="web", kind="WebApp",
            author=ACTOR, body="deployed by the pipeline",
        )  # fmt: skip
        key, _ = await apikeys.create_api_key(session, user=ACTOR)
    async with database.session() as session:
        stored = await annotations.get_annotation(session, note.id)
        keys = await apikeys.list_api_keys(session, user=ACTOR)
    assert stored is not None
    assert stored.author == ACTOR
    assert [(k.id, k.user) for k in keys] == [(key.id, ACTOR)]
