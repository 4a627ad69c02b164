"""ScheduledBackup: run a backup script on a schedule, as a CronJob (namespaced)."""

from __future__ import annotations

from datetime import datetime

from kubeweft.api import (
    Condition,
    CustomResource,
    ModelInfo,
    PrinterColumn,
    ResourceModel,
    list_map,
)
from pydantic import Field

#: Five cron fields or a macro; the API server checks the fields' ranges on the CronJob.
SCHEDULE = r"^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|(\S+\s+){4}\S+)$"


class ScheduledBackupSpec(ResourceModel):
    schedule: str = Field(
        pattern=SCHEDULE, max_length=100, description="When to run, in cron syntax: 0 3 * * *."
    )
    source: str = Field(
        min_length=1, max_length=1024, description="What to back up: the database URL to dump."
    )
    image: str = Field(
        default="postgres:17-alpine",
        min_length=1,
        max_length=512,
        description="The image that runs the backup script (it needs pg_dump).",
    )
    keep: int = Field(default=3, ge=1, le=100, description="Successful runs to keep.")
    suspend: bool = Field(default=False, description="Pause the schedule.")


class ScheduledBackupStatus(ResourceModel):
    last_schedule_time: datetime | None = Field(
        default=None, description="When the CronJob last started a run."
    )
    active_jobs: int = Field(default=0, description="Runs under way.")
    conditions: list[Condition] = Field(default_factory=list, json_schema_extra=list_map("type"))


class ScheduledBackup(CustomResource):
    """A database dumped on a schedule: a CronJob and the ConfigMap holding its script."""

    model_info = ModelInfo(
        group="backup.example.com",
        version="v1alpha1",
        kind="ScheduledBackup",
        plural="scheduledbackups",
        singular="scheduledbackup",
        short_names=("sb",),
        printer_columns=(
            PrinterColumn("Schedule", ".spec.schedule"),
            PrinterColumn("Last run", ".status.lastScheduleTime", type="date"),
        ),
        owns=(("v1", "configmaps"), ("batch/v1", "cronjobs")),
    )

    spec: ScheduledBackupSpec
    status: ScheduledBackupStatus = Field(default_factory=ScheduledBackupStatus)
