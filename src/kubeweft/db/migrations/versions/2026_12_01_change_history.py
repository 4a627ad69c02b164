"""History for any model: ``deployment_history`` (the shipped example's image and replicas) becomes
``change_history`` (the spec of each generation as JSON and the RFC 6902 patch from the
previous one).

Existing rows are carried over: the spec of each is ``{"image", "replicas"}`` (all an
old history row knew), its patch the diff from the previous row of the same UID.
The downgrade carries back the rows whose spec has an image and replicas (the example's);
other models' history has no place in the old table and is dropped.

Revision ID: efb2eff7d1f3
Revises: 3c7e91a4d2b8
Create Date: 2026-12-01 23:40:00
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jsonpatch
import sqlalchemy as sa
from alembic import op

from kubeweft.db.types import UTCDateTime

revision: str = "efb2eff7d1f3"
down_revision: str | None = "3c7e91a4d2b8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_COMMON = ("uid", "namespace", "name", "kind", "generation", "actor", "source", "created_at")


def _common_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("uid", sa.String(length=36), nullable=False),
        sa.Column("namespace", sa.String(length=253), nullable=False),
        sa.Column("name", sa.String(length=253), nullable=False),
        sa.Column("kind", sa.String(length=63), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    ]


def _create(table: str, *columns: sa.Column[Any]) -> sa.Table:
    created = op.create_table(
        table,
        *_common_columns(),
        *columns,
        sa.CheckConstraint("source IN ('api', 'reconciler')", name=op.f(f"ck_{table}_source")),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.UniqueConstraint("uid", "generation", name=op.f(f"uq_{table}_uid_generation")),
    )
    op.create_index(op.f(f"ix_{table}_actor_created_at"), table, ["actor", "created_at"])
    op.create_index(op.f(f"ix_{table}_created_at"), table, ["created_at"])
    assert created is not None
    return created


def _drop(table: str) -> None:
    op.drop_index(op.f(f"ix_{table}_created_at"), table_name=table)
    op.drop_index(op.f(f"ix_{table}_actor_created_at"), table_name=table)
    op.drop_table(table)


def _old_table() -> sa.TableClause:
    return sa.table(
        "deployment_history",
        *(sa.column(name) for name in _COMMON if name != "created_at"),
        sa.column("created_at", UTCDateTime()),
        sa.column("image", sa.Text()),
        sa.column("replicas", sa.Integer()),
        sa.column("previous_image", sa.Text()),
        sa.column("previous_replicas", sa.Integer()),
    )


def _new_table() -> sa.TableClause:
    return sa.table(
        "change_history",
        *(sa.column(name) for name in _COMMON if name != "created_at"),
        sa.column("created_at", UTCDateTime()),
        sa.column("spec", sa.JSON()),
        sa.column("patch", sa.JSON()),
    )


def _by_uid_and_generation(table: sa.TableClause) -> sa.Select[Any]:
    return sa.select(table).order_by(table.c.uid, table.c.generation)


def upgrade() -> None:
    _create(
        "change_history",
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("patch", sa.JSON(), nullable=True),
    )
    bind = op.get_bind()
    rows: list[dict[str, Any]] = []
    previous: tuple[str, dict[str, Any]] | None = None
    for old in bind.execute(_by_uid_and_generation(_old_table())).mappings():
        spec = {"image": old["image"], "replicas": old["replicas"]}
        before = previous[1] if previous is not None and previous[0] == old["uid"] else None
        patch = None if before is None else list(jsonpatch.make_patch(before, spec).patch)
        rows.append({**{name: old[name] for name in _COMMON}, "spec": spec, "patch": patch})
        previous = (old["uid"], spec)
    if rows:
        bind.execute(sa.insert(_new_table()), rows)
    _drop("deployment_history")


def downgrade() -> None:
    _create(
        "deployment_history",
        sa.Column("image", sa.Text(), nullable=False),
        sa.Column("replicas", sa.Integer(), nullable=False),
        sa.Column("previous_image", sa.Text(), nullable=True),
        sa.Column("previous_replicas", sa.Integer(), nullable=True),
    )
    bind = op.get_bind()
    rows: list[dict[str, Any]] = []
    previous: dict[str, Any] | None = None
    for new in bind.execute(_by_uid_and_generation(_new_table())).mappings():
        spec = new["spec"] or {}
        if not isinstance(spec.get("image"), str) or not isinstance(spec.get("replicas"), int):
            continue  # another model's: the old table cannot hold it
        before = previous if previous is not None and previous["uid"] == new["uid"] else None
        row = {
            **{name: new[name] for name in _COMMON},
            "image": spec["image"],
            "replicas": spec["replicas"],
            "previous_image": before["image"] if before else None,
            "previous_replicas": before["replicas"] if before else None,
        }
        rows.append(row)
        previous = row
    if rows:
        bind.execute(sa.insert(_old_table()), rows)
    _drop("change_history")
