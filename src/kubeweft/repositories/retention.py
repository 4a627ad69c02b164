"""The retention job: every table that grows with time keeps a bounded window.

A runnable, like everything long-lived in kubeweft: started in the process's task
group, it prunes once at start and then every ``interval``; a failed pass (database
down) is logged and tried again next time. Rows go in batches of ``batch_size``, one
short transaction each, so a pass over a month of rows never holds a lock for long and
the record writer's inserts slip in between batches.

Which table keeps what (``RetentionPolicy``; the settings are in ``docs/deploy.md``):
every table has a retention. Metric samples and latest values, the reconcile log, the
API audit trail, the change history and annotations (people's notes: a year by default,
counted from their last edit) go by age; an API key goes once it has been revoked or
expired for that long, never while it is in force.

A batch that deleted rows tells readers that kept rows (``db.changes``) that anything
may have changed, in this process and, through its transaction, in others.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import anyio
import anyio.lowlevel
from anyio.abc import TaskStatus
from sqlalchemy.ext.asyncio import AsyncSession

from kubeweft.db import changes as record_changes
from kubeweft.db.engine import Database
from kubeweft.db.types import utcnow
from kubeweft.repositories import annotations as notes
from kubeweft.repositories import apikeys, audit, history, metrics, reconcile_log
from kubeweft.repositories.unit_of_work import unit_of_work

__all__ = ["RetentionJob", "RetentionPolicy"]

log = logging.getLogger(__name__)

Prune = Callable[..., Awaitable[int]]


@dataclass(frozen=True)
class RetentionPolicy:
    """How long each growing table keeps a row; None keeps it for ever."""

    metric_samples: timedelta | None = timedelta(days=7)
    reconcile_log: timedelta | None = timedelta(days=7)
    audit: timedelta | None = timedelta(days=90)
    history: timedelta | None = timedelta(days=365)
    annotations: timedelta | None = timedelta(days=365)
    #: After revocation or expiry.
    api_keys: timedelta | None = timedelta(days=30)
    batch_size: int = 1000

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")

    def tables(self) -> list[tuple[str, timedelta, Prune]]:
        """(table, retention, prune function) for every table with a retention."""
        candidates: list[tuple[str, timedelta | None, Prune]] = [
            ("metric_latest", self.metric_samples, metrics.prune_metric_latest),
            ("metric_samples", self.metric_samples, metrics.prune_metric_samples),
            ("reconcile_log", self.reconcile_log, reconcile_log.prune_attempts),
            ("api_audit", self.audit, audit.prune_audit),
            ("change_history", self.history, history.prune_history),
            ("annotations", self.annotations, notes.prune_annotations),
            ("api_keys", self.api_keys, apikeys.prune_api_keys),
        ]
        return [(table, keep, prune) for table, keep, prune in candidates if keep is not None]


class RetentionJob:
    """Deletes rows older than the policy allows, table by table, in bounded batches."""

    def __init__(
        self,
        db: Database,
        policy: RetentionPolicy,
        *,
        interval: timedelta = timedelta(hours=1),
        changes: record_changes.RecordChanges | None = None,
    ) -> None:
        self.db = db
        self.policy = policy
        self.interval = interval
        #: Told after each batch that deleted rows: any resource's rows may have gone.
        self.changes = changes

    async def prune_once(self, now: datetime | None = None) -> dict[str, int]:
        """One pass over every table; returns ``{table: rows deleted}``."""
        now = now or utcnow()
        return {
            table: await self._prune_table(prune, now - keep)
            for table, keep, prune in self.policy.tables()
        }

    async def _prune_table(self, prune: Prune, cutoff: datetime) -> int:
        limit = self.policy.batch_size
        total = 0
        while True:
            session: AsyncSession
            async with unit_of_work(self.db) as session:
                deleted = await prune(session, cutoff, limit=limit)
                if deleted:
                    await record_changes.notify(session, None)
            if deleted and self.changes is not None:
                self.changes.everything()
            total += deleted
            if deleted < limit:
                return total
            await anyio.lowlevel.checkpoint()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        while True:
            try:
                deleted = await self.prune_once()
                log.info("retention pass deleted %s", deleted)
            except Exception:
                log.exception("retention pass failed; retrying next interval")
            await anyio.sleep(self.interval.total_seconds())
