"""Annotations on SQLite and PostgreSQL, and the all-or-nothing rule for bad input."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select, text

from kubeweft.db.engine import Database
from kubeweft.db.tables import ANNOTATION_BODY_MAX, Annotation, ApiAudit
from kubeweft.repositories import NotFoundError, ValidationError, audit, unit_of_work
from kubeweft.repositories import annotations as notes

pytestmark = pytest.mark.anyio


async def _create(
    session: object, uid: str, author: str = "alice", body: str = "hello"
) -> Annotation:
    return await notes.create_annotation(
        session,  # type: ignore[arg-type]
        uid=uid,
        namespace="default",
        name="web",
        kind="WebApp",
        author=author,
        body=body,
    )


async def _counts(database: Database) -> tuple[int, int]:
    async with database.session() as session:
        notes = (await session.execute(select(func.count()).select_from(Annotation))).scalar_one()
        audits = (await session.execute(select(func.count()).select_from(ApiAudit))).scalar_one()
    return notes, audits


async def test_create_read_update_delete(database: Database) -> None:
    uid = str(uuid.uuid4())
    async with unit_of_work(database) as session:
        first = await _create(session, uid, body="first")
        second = await _create(session, uid, author="bob", body="second")
    assert first.id != second.id
    assert first.created_at.tzinfo is not None
    async with database.session() as session:
        assert [a.body for a in await notes.annotations_for(session, uid)] == [
            "second",
            "first",
        ]
        assert [a.body for a in await notes.annotations_by_author(session, "bob")] == ["second"]
    async with unit_of_work(database) as session:
        updated = await notes.update_annotation(session, first.id, body="edited", uid=uid)
        assert updated.updated_at is not None
    async with unit_of_work(database) as session:
        with pytest.raises(NotFoundError):  # scoped to the resource it belongs to
            await notes.delete_annotation(session, first.id, uid=str(uuid.uuid4()))
    async with unit_of_work(database) as session:
        await notes.delete_annotation(session, first.id, uid=uid)
    async with database.session() as session:
        assert [a.body for a in await notes.annotations_for(session, uid)] == ["second"]
        with pytest.raises(NotFoundError):
            await notes.get_annotation(session, first.id)


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("uid", {"uid": "not-a-uid"}),
        ("uid", {"uid": ""}),
        ("body", {"body": "x" * (ANNOTATION_BODY_MAX + 1)}),
        ("body", {"body": "   "}),
        ("author", {"author": ""}),
    ],
)
async def test_bad_input_is_rejected_and_nothing_partial_is_written(
    database: Database, field: str, kwargs: dict[str, str]
) -> None:
    uid = str(uuid.uuid4())
    args = {"uid": uid, "author": "alice", "body": "ok", **kwargs}

    async def unit() -> None:
        async with unit_of_work(database) as session:
            # A multi-table unit of work: the audit row and first note are written first…
            await audit.record_audit(
                session, actor="alice", verb="create", target_kind="Annotation", outcome="allowed"
            )
            await _create(session, uid)
            # …then the bad call fails, and the whole unit rolls back.
            await _create(session, args["uid"], author=args["author"], body=args["body"])

    with pytest.raises(ValidationError) as err:
        await unit()
    assert err.value.field == field
    assert field in str(err.value)
    assert await _counts(database) == (0, 0)


async def test_body_limit_is_enforced_by_the_database_too(database: Database) -> None:
    async with unit_of_work(database) as session:
        with pytest.raises(Exception, match=r"(?i)check|constraint"):
            await session.execute(
                text(
                    "INSERT INTO annotations (uid, namespace, name, kind, author, body, created_at)"
                    " VALUES (:uid, 'd', 'n', 'WebApp', 'a', :body, CURRENT_TIMESTAMP)"
                ),
                {"uid": str(uuid.uuid4()), "body": "x" * (ANNOTATION_BODY_MAX + 1)},
            )
        await session.rollback()
    assert await _counts(database) == (0, 0)


async def test_body_at_the_limit_is_accepted(database: Database) -> None:
    async with unit_of_work(database) as session:
        row = await _create(session, str(uuid.uuid4()), body="é" * ANNOTATION_BODY_MAX)
    async with database.session() as session:
        assert len((await notes.get_annotation(session, row.id)).body) == ANNOTATION_BODY_MAX
