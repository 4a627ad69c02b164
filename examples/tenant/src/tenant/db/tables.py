"""The tenant project's tables: one ``MetaData`` of its own, beside kubeweft's."""

from __future__ import annotations

from kubeweft.db import UTCDateTime
from sqlalchemy import Column, MetaData, PrimaryKeyConstraint, String, Table

metadata = MetaData()

#: Who owns each tenant and since when: Kubernetes keeps only the current list of
#: owners, this keeps the day each one was added. Rows are keyed by the Tenant's UID
#: (a re-created Tenant of the same name starts afresh) and deleted by its finalizer.
tenant_owners = Table(
    "tenant_owners",
    metadata,
    Column("uid", String(36), nullable=False),
    Column("tenant", String(253), nullable=False),
    Column("owner", String(253), nullable=False),
    Column("since", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("uid", "owner", name="pk_tenant_owners"),
)
