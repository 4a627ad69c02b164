"""A history row can record a rollback: ``change_history.rolled_back_to``.

The generation whose spec a rollback wrote back (``POST .../rollback``), or NULL for
every other change. Nullable, so existing rows need no value and the downgrade only
drops the column.

Revision ID: 8a4c0e5b7d21
Revises: efb2eff7d1f3
Create Date: 2026-12-02 04:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8a4c0e5b7d21"
down_revision: str | None = "efb2eff7d1f3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("change_history") as batch:
        batch.add_column(sa.Column("rolled_back_to", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("change_history") as batch:
        batch.drop_column("rolled_back_to")
