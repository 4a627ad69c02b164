"""A second model, declared only in the tests: CronTab in ``test.kubeweft.dev/v1``.

It exists to prove that adding a model needs no framework change — codegen, RBAC and
the API server's validation all follow from this declaration alone. It exercises what
WebApp does not: an enum, a nested required object, a map list, a set, free-form
labels, an int-or-string field and a boolean printer column.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from kubeweft.api import CustomResource, ModelInfo, PrinterColumn, list_map
from kubeweft.api.model import ResourceModel

GROUP = "test.kubeweft.dev"


class ConcurrencyPolicy(StrEnum):
    ALLOW = "Allow"
    FORBID = "Forbid"
    REPLACE = "Replace"


class Schedule(ResourceModel):
    """When the job runs."""

    cron: str = Field(pattern=r"^(\S+\s+){4}\S+$", description="Five cron fields.")
    time_zone: str = Field(default="UTC", max_length=64)


class JobContainer(ResourceModel):
    name: str = Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63)
    image: str = Field(min_length=1)


class CronTabSpec(ResourceModel):
    schedule: Schedule
    concurrency_policy: ConcurrencyPolicy = ConcurrencyPolicy.ALLOW
    containers: list[JobContainer] = Field(
        min_length=1, max_length=10, json_schema_extra=list_map("name")
    )
    suspend: bool = False
    history_limit: int = Field(default=3, ge=0, le=10)
    deadline_seconds: float | None = Field(default=None, gt=0)
    tags: set[str] = Field(default_factory=set)
    labels: dict[str, str] = Field(default_factory=dict)
    metrics_port: int | str | None = None


class CronTabStatus(ResourceModel):
    active: int = 0
    last_schedule_time: datetime | None = None


class CronTab(CustomResource):
    """A job that runs on a schedule (test-only model)."""

    model_info = ModelInfo(
        group=GROUP,
        version="v1",
        kind="CronTab",
        plural="crontabs",
        singular="crontab",
        short_names=("ct",),
        printer_columns=(
            PrinterColumn("Schedule", ".spec.schedule.cron"),
            PrinterColumn("Suspended", ".spec.suspend", "boolean"),
            PrinterColumn("Active", ".status.active", "integer", priority=1),
        ),
        owns=(("batch/v1", "jobs"),),
    )

    spec: CronTabSpec
    status: CronTabStatus = Field(default_factory=CronTabStatus)


def crontab(name: str, namespace: str, **spec: object) -> dict[str, object]:
    """A valid CronTab manifest, with ``spec`` fields overridden (wire names)."""
    body: dict[str, object] = {
        "schedule": {"cron": "*/5 * * * *"},
        "containers": [{"name": "main", "image": "busybox:1.36"}],
    }
    body.update(spec)
    return {
        "apiVersion": f"{GROUP}/v1",
        "kind": "CronTab",
        "metadata": {"name": name, "namespace": namespace},
        "spec": body,
    }


class ZoneSpec(ResourceModel):
    capacity: int = Field(ge=1, le=1000)
    description: str = Field(default="", max_length=200)


class ZoneStatus(ResourceModel):
    used: int = 0


class Zone(CustomResource):
    """A cluster-scoped model (test-only): no namespace anywhere, from CRD to REST."""

    model_info = ModelInfo(
        group=GROUP,
        version="v1",
        kind="Zone",
        plural="zones",
        singular="zone",
        namespaced=False,
    )

    spec: ZoneSpec
    status: ZoneStatus = Field(default_factory=ZoneStatus)
