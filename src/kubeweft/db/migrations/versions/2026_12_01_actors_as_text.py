"""Actors stored whole: audit, history, annotation and API-key user columns become TEXT.

VARCHAR(255) was too short for Kubernetes usernames (a service account's reaches
~340 characters): PostgreSQL refused the row, so the audit entry was lost and the
history row dropped as poison. SQLite never enforced the length, but the declared type
changes there too (batch mode), so the schema matches the models on both.

Revision ID: 3c7e91a4d2b8
Revises: 6f1d2c9a0b3e
Create Date: 2026-12-01 22:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3c7e91a4d2b8"
down_revision: str | None = "6f1d2c9a0b3e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, nullable)
ACTOR_COLUMNS = (
    ("api_audit", "actor", False),
    ("deployment_history", "actor", True),
    ("annotations", "author", False),
    ("api_keys", "user", False),
)


def upgrade() -> None:
    for table, column, nullable in ACTOR_COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                column,
                type_=sa.Text(),
                existing_type=sa.String(length=255),
                existing_nullable=nullable,
            )


def downgrade() -> None:
    # Values longer than 255 characters would not fit back: cut them (a downgrade is
    # the operator's explicit choice; the full value is not recoverable in 255).
    for table, column, nullable in ACTOR_COLUMNS:
        op.execute(
            sa.text(
                f'UPDATE {table} SET "{column}" = substr("{column}", 1, 255)'
                f' WHERE length("{column}") > 255'
            )
        )
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                column,
                type_=sa.String(length=255),
                existing_type=sa.Text(),
                existing_nullable=nullable,
            )
