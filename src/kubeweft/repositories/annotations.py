"""Annotations: notes people attach to a resource, stored only in the database.

The body limit (10,000 characters) is checked here, with a clear error, and enforced
again by a CHECK constraint so no other path can store more. Every write names its
resource's UID to other processes in its transaction (``db.changes.notify``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kubeweft.db import changes
from kubeweft.db.tables import (
    ACTOR_LENGTH,
    ANNOTATION_BODY_MAX,
    KIND_LENGTH,
    NAME_LENGTH,
    Annotation,
)
from kubeweft.db.types import utcnow
from kubeweft.repositories import _validate
from kubeweft.repositories.errors import NotFoundError


async def create_annotation(
    session: AsyncSession,
    *,
    uid: str,
    namespace: str,
    name: str,
    kind: str,
    author: str,
    body: str,
) -> Annotation:
    """Add a note to a resource; returns the stored row (with its id and created_at)."""
    row = Annotation(
        uid=_validate.uid(uid),
        # "" for a cluster-scoped object, which has no namespace.
        namespace=_validate.text(namespace, "namespace", max_length=NAME_LENGTH, allow_empty=True),
        name=_validate.text(name, "name", max_length=NAME_LENGTH),
        kind=_validate.text(kind, "kind", max_length=KIND_LENGTH),
        author=_validate.text(author, "author", max_length=ACTOR_LENGTH),
        body=_validate.text(body, "body", max_length=ANNOTATION_BODY_MAX),
        created_at=utcnow(),
    )
    session.add(row)
    await session.flush()
    await changes.notify(session, [row.uid])
    return row


async def get_annotation(
    session: AsyncSession, annotation_id: int, *, uid: str | None = None
) -> Annotation:
    """One annotation; with ``uid``, only if it belongs to that resource."""
    row = await session.get(Annotation, annotation_id)
    if row is None or (uid is not None and row.uid != _validate.uid(uid)):
        raise NotFoundError("annotation", annotation_id)
    return row


async def annotations_for(session: AsyncSession, uid: str, *, limit: int = 100) -> list[Annotation]:
    """A resource's annotations, newest first."""
    stmt = (
        select(Annotation)
        .where(Annotation.uid == _validate.uid(uid))
        .order_by(Annotation.created_at.desc(), Annotation.id.desc())
        .limit(_validate.positive(limit, "limit"))
    )
    return list((await session.scalars(stmt)).all())


async def annotations_by_author(
    session: AsyncSession,
    author: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
) -> list[Annotation]:
    """What one person wrote, newest first, optionally within ``[since, until)``."""
    stmt = select(Annotation).where(
        Annotation.author == _validate.text(author, "author", max_length=ACTOR_LENGTH)
    )
    if since is not None:
        stmt = stmt.where(Annotation.created_at >= _validate.aware(since, "since"))
    if until is not None:
        stmt = stmt.where(Annotation.created_at < _validate.aware(until, "until"))
    stmt = stmt.order_by(Annotation.created_at.desc(), Annotation.id.desc())
    return list((await session.scalars(stmt.limit(_validate.positive(limit, "limit")))).all())


async def update_annotation(
    session: AsyncSession, annotation_id: int, *, body: str, uid: str | None = None
) -> Annotation:
    body = _validate.text(body, "body", max_length=ANNOTATION_BODY_MAX)
    row = await get_annotation(session, annotation_id, uid=uid)
    row.body = body
    row.updated_at = utcnow()
    await session.flush()
    await changes.notify(session, [row.uid])
    return row


async def delete_annotation(
    session: AsyncSession, annotation_id: int, *, uid: str | None = None
) -> None:
    """Delete one annotation; ``NotFoundError`` if absent or not the given resource's."""
    stmt = delete(Annotation).where(Annotation.id == annotation_id)
    if uid is not None:
        stmt = stmt.where(Annotation.uid == _validate.uid(uid))
    result = await session.execute(stmt)
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise NotFoundError("annotation", annotation_id)
    await changes.notify(session, [uid] if uid is not None else None)


async def delete_annotations_for(session: AsyncSession, uid: str) -> int:
    result = await session.execute(delete(Annotation).where(Annotation.uid == _validate.uid(uid)))
    await changes.notify(session, [uid])
    return int(result.rowcount)  # type: ignore[attr-defined]


async def prune_annotations(
    session: AsyncSession, older_than: datetime, *, limit: int | None = None
) -> int:
    """Delete notes last written before ``older_than`` (the oldest ``limit``); returns
    how many. Notes outlive the reconcile log, but not for ever (a year by default)."""
    cutoff = _validate.aware(older_than, "older_than")
    written = func.coalesce(Annotation.updated_at, Annotation.created_at)
    stale: ColumnElement[bool] = written < cutoff
    if limit is not None:
        oldest = select(Annotation.id).where(stale).order_by(written)
        stale = Annotation.id.in_(oldest.limit(_validate.positive(limit, "limit")))
    result = await session.execute(delete(Annotation).where(stale))
    return int(result.rowcount)  # type: ignore[attr-defined]
