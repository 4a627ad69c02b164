"""tenant_owners: who owns each tenant, and since when.

Revision ID: tenant_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from kubeweft.db import UTCDateTime

revision = "tenant_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tenant_owners",
        sa.Column("uid", sa.String(36), nullable=False),
        sa.Column("tenant", sa.String(253), nullable=False),
        sa.Column("owner", sa.String(253), nullable=False),
        sa.Column("since", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("uid", "owner", name="pk_tenant_owners"),
    )


def downgrade() -> None:
    op.drop_table("tenant_owners")
