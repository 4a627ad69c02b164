"""The SQL of ``tenant_owners``: kept in step with a Tenant's owners, read for the REST
bodies a page at a time, deleted with the Tenant."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from kubeweft.api import ResourceModel
from kubeweft.db import utcnow
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from tenant.db.tables import tenant_owners


class OwnerFields(ResourceModel):
    """What a Tenant's REST detail and list show from ``tenant_owners`` (``ownersSince``)."""

    owners_since: dict[str, datetime] = {}


async def record_owners(
    session: AsyncSession, uid: str, tenant: str, owners: Sequence[str]
) -> bool:
    """Add the owners not recorded yet (since now) and drop those no longer owners;
    True when a row changed."""
    wanted = set(owners)
    rows = await session.execute(select(tenant_owners.c.owner).where(tenant_owners.c.uid == uid))
    known = {owner for (owner,) in rows}
    added, removed = wanted - known, known - wanted
    if removed:
        await session.execute(
            delete(tenant_owners).where(
                tenant_owners.c.uid == uid, tenant_owners.c.owner.in_(sorted(removed))
            )
        )
    if added:
        now = utcnow()
        await session.execute(
            tenant_owners.insert(),
            [{"uid": uid, "tenant": tenant, "owner": o, "since": now} for o in sorted(added)],
        )
    return bool(added or removed)


async def delete_owners(session: AsyncSession, uid: str) -> int:
    """Remove every row of the Tenant ``uid``; how many there were."""
    result = await session.execute(delete(tenant_owners).where(tenant_owners.c.uid == uid))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def load_owner_fields(
    session: AsyncSession, uids: Sequence[str]
) -> Mapping[str, OwnerFields]:
    """The ``ownersSince`` of every Tenant in ``uids``: one statement for a whole page."""
    rows = await session.execute(
        select(tenant_owners.c.uid, tenant_owners.c.owner, tenant_owners.c.since).where(
            tenant_owners.c.uid.in_(uids)
        )
    )
    since: dict[str, dict[str, datetime]] = {}
    for uid, owner, at in rows:
        since.setdefault(uid, {})[owner] = at
    return {uid: OwnerFields(owners_since=owners) for uid, owners in since.items()}
