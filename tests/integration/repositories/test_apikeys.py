"""API keys on SQLite and PostgreSQL: hashed at rest, verified, revoked, expired."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from kubeweft.db.engine import Database
from kubeweft.db.tables import ApiKey
from kubeweft.db.types import utcnow
from kubeweft.repositories import ValidationError, apikeys, unit_of_work

pytestmark = pytest.mark.anyio


async def test_create_verify_revoke(database: Database) -> None:
    async with unit_of_work(database) as session:
        key, token = await apikeys.create_api_key(session, user="alice", groups=["dev"])
    assert token.startswith(f"kw_{key.id}_")
    async with database.session() as session:
        stored = (await session.scalars(select(ApiKey))).one()
        assert token.split("_", 2)[2] not in stored.secret_hash  # only the hash is stored
    async with unit_of_work(database) as session:
        found = await apikeys.verify_api_key(session, token)
        assert found is not None
        assert found.user == "alice"
        assert found.groups == ["dev"]
        assert found.last_used_at is not None
        assert await apikeys.verify_api_key(session, token[:-1] + "x") is None
        assert await apikeys.verify_api_key(session, "garbage") is None
    async with unit_of_work(database) as session:
        await apikeys.revoke_api_key(session, key.id)
    async with unit_of_work(database) as session:
        assert await apikeys.verify_api_key(session, token) is None
        assert [k.id for k in await apikeys.list_api_keys(session, user="alice")] == [key.id]


async def test_expired_key_is_refused(database: Database) -> None:
    async with unit_of_work(database) as session:
        _, token = await apikeys.create_api_key(
            session, user="bob", expires_at=utcnow() + timedelta(hours=1)
        )
    async with unit_of_work(database) as session:
        assert await apikeys.verify_api_key(session, token) is not None
        assert (
            await apikeys.verify_api_key(session, token, now=utcnow() + timedelta(hours=2)) is None
        )
        with pytest.raises(ValidationError) as err:
            await apikeys.create_api_key(session, user="")
        assert err.value.field == "user"
