"""The retention job: keeps the metric series (and the reconcile log) bounded.

A runnable, like everything long-lived in kubeweft: started in the process's task
group, it prunes once at start and then every ``interval``; a failed pass (database
down) is logged and tried again next time.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import anyio
from anyio.abc import TaskStatus

from kubeweft.db.engine import Database
from kubeweft.db.types import utcnow
from kubeweft.repositories import metrics, reconcile_log
from kubeweft.repositories.unit_of_work import unit_of_work

log = logging.getLogger(__name__)


class RetentionJob:
    """Deletes metric samples and reconcile-log rows older than ``retention``."""

    def __init__(
        self,
        db: Database,
        *,
        retention: timedelta,
        interval: timedelta = timedelta(hours=1),
        reconcile_log_retention: timedelta | None = None,
    ) -> None:
        self.db = db
        self.retention = retention
        self.interval = interval
        self.reconcile_log_retention = reconcile_log_retention

    async def prune_once(self) -> int:
        """One pass; returns how many metric samples were deleted."""
        now = utcnow()
        async with unit_of_work(self.db) as session:
            deleted = await metrics.prune_metric_samples(session, now - self.retention)
            if self.reconcile_log_retention is not None:
                await reconcile_log.prune_attempts(session, now - self.reconcile_log_retention)
        return deleted

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        while True:
            try:
                deleted = await self.prune_once()
                log.info("metric retention pass deleted %d samples", deleted)
            except Exception:
                log.exception("metric retention pass failed; retrying next interval")
            await anyio.sleep(self.interval.total_seconds())
