"""API audit and reconcile log repositories on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from kubeweft.db.engine import Database
from kubeweft.db.records import ReconcileRecord
from kubeweft.db.types import utcnow
from kubeweft.repositories import ValidationError, audit, reconcile_log, unit_of_work

pytestmark = pytest.mark.anyio


async def test_audit_by_actor_uid_and_range(database: Database) -> None:
    uid = str(uuid.uuid4())
    t0 = utcnow() - timedelta(minutes=30)
    async with unit_of_work(database) as session:
        for minute, actor, verb in [
            (0, "alice", "create"),
            (10, "bob", "patch"),
            (20, "alice", "delete"),
        ]:
            await audit.record_audit(
                session,
                actor=actor,
                verb=verb,
                target_kind="WebApp",
                target_namespace="default",
                target_name="web",
                target_uid=uid,
                outcome="allowed",
                status_code=200,
                request_id=f"req-{minute}",
                ts=t0 + timedelta(minutes=minute),
            )
    async with database.session() as session:
        assert [r.verb for r in await audit.audit_by_actor(session, "alice")] == [
            "delete",
            "create",
        ]
        assert len(await audit.audit_for_uid(session, uid)) == 3
        window = await audit.audit_in_range(
            session, t0 + timedelta(minutes=5), t0 + timedelta(minutes=15)
        )
        assert [r.actor for r in window] == ["bob"]
        with pytest.raises(ValidationError) as err:
            await audit.record_audit(
                session, actor="", verb="get", target_kind="WebApp", outcome="allowed"
            )
        assert err.value.field == "actor"


async def test_reconcile_log_by_uid_outcome_and_prune(database: Database) -> None:
    uid = str(uuid.uuid4())
    t0 = utcnow() - timedelta(hours=2)
    outcomes = ["error", "requeue", "success"]
    async with unit_of_work(database) as session:
        for i, outcome in enumerate(outcomes):
            await reconcile_log.record_attempt(
                session,
                ReconcileRecord(
                    uid=uid,
                    namespace="default",
                    name="web",
                    kind="WebApp",
                    started_at=t0 + timedelta(hours=i),
                    duration_s=0.1 * (i + 1),
                    outcome=outcome,  # type: ignore[arg-type]
                    actions=("create Deployment",) if i == 0 else (),
                    error="boom" if outcome == "error" else None,
                    generation=1,
                    resource_version=str(100 + i),
                ),
            )
    async with database.session() as session:
        rows = await reconcile_log.attempts_by_uid(session, uid)
        assert [r.outcome for r in rows] == ["success", "requeue", "error"]
        assert rows[-1].actions == ["create Deployment"]
        assert rows[-1].error == "boom"
        errors = await reconcile_log.attempts_in_range(session, t0, outcome="error")
        assert [r.resource_version for r in errors] == ["100"]
        with pytest.raises(ValidationError):
            await reconcile_log.attempts_in_range(session, t0, outcome="maybe")
    async with unit_of_work(database) as session:
        assert await reconcile_log.prune_attempts(session, t0 + timedelta(minutes=90)) == 2
    async with database.session() as session:
        assert [r.outcome for r in await reconcile_log.attempts_by_uid(session, uid)] == ["success"]
