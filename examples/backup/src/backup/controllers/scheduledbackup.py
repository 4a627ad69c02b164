"""Reconcile a ScheduledBackup: the ConfigMap with its script, and the CronJob that runs it.

Both children carry the ScheduledBackup as controller owner, so the garbage collector
deletes them after it, and their events bring it back here (``ModelInfo.owns``): a hand
edit is reverted, and each run the CronJob starts or finishes updates the status. The
CronJob is mutated field by field on the live object, never replaced, so what the API
server defaulted (restart policy, DNS policy, …) stays and an unchanged backup writes
nothing. A spec the API server refuses for the CronJob (a schedule whose fields are out
of range, a name too long for a CronJob) is a ``Rejected`` condition, not a retry loop:
only a new spec can fix it, and a new generation brings the object back.

The reconciler reports through the framework's attempt (``context.attempt()``): the
actions it took go into the reconcile log, the number of runs under way into the
``active_jobs`` metric, which the framework stores when it changes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import kubeweft
from kubeweft import controllerutil
from kubeweft.api import Condition, ConditionStatus
from kubeweft.runtime import errors
from kubeweft.runtime.reconcile import Request, Result
from lightkube.models.batch_v1 import CronJobSpec, JobSpec, JobTemplateSpec
from lightkube.models.core_v1 import (
    ConfigMapKeySelector,
    ConfigMapVolumeSource,
    Container,
    EnvVar,
    EnvVarSource,
    PodSpec,
    PodTemplateSpec,
    Volume,
    VolumeMount,
)
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.batch_v1 import CronJob
from lightkube.resources.core_v1 import ConfigMap

from backup.api.v1alpha1 import ScheduledBackup

CONTAINER = "backup"
SCRIPT_KEY = "backup.sh"
SOURCE_KEY = "source"
SCRIPT_DIR = "/etc/backup"
#: Dumps the source database; a real deployment would write to a volume or a bucket.
SCRIPT = """#!/bin/sh
set -eu
pg_dump --dbname="$BACKUP_SOURCE" --format=custom --file="/tmp/$(date +%Y%m%dT%H%M%S).dump"
"""


class ScheduledBackupReconciler:
    def __init__(self, context: kubeweft.ControllerContext) -> None:
        self.client = controllerutil.DelegatingClient(context.cache, context.client)
        self.context = context
        self.resync = context.settings.metric_sample_interval_seconds

    async def reconcile(self, request: Request) -> Result:
        try:
            backup = await self.client.get(ScheduledBackup, request.name, request.namespace)
        except errors.NotFound:
            return Result()  # deleted: the garbage collector removes its children
        if backup.metadata.deletionTimestamp is not None:
            return Result()
        original = backup.model_copy(deep=True)
        try:
            cronjob = await self.sync_children(backup)
        except errors.Invalid as err:
            ready = condition(backup, False, "Rejected", f"the API server refused: {err.message}")
        else:
            status = cronjob.status
            backup.status.active_jobs = len((status.active if status else None) or [])
            backup.status.last_schedule_time = status.lastScheduleTime if status else None
            self.context.attempt().sample("active_jobs", backup.status.active_jobs)
            if backup.spec.suspend:
                ready = condition(backup, False, "Suspended", "the schedule is paused")
            else:
                ready = condition(backup, True, "Scheduled", f"runs at {backup.spec.schedule}")
        controllerutil.set_status_condition(backup.status.conditions, ready)
        if await controllerutil.patch_status(self.client, backup, original):
            self.context.attempt().action("updated status")
        return Result(requeue_after=self.resync)

    async def sync_children(self, backup: ScheduledBackup) -> CronJob:
        meta = backup.metadata
        config = ConfigMap(metadata=ObjectMeta(name=config_name(backup), namespace=meta.namespace))
        done = await controllerutil.create_or_update(
            self.client, config, config_mutation(backup), owner=backup
        )
        self.report(done, "ConfigMap")
        cronjob = CronJob(
            metadata=ObjectMeta(name=meta.name, namespace=meta.namespace),
            spec=CronJobSpec(schedule=backup.spec.schedule, jobTemplate=job_template(backup)),
        )
        done = await controllerutil.create_or_update(
            self.client, cronjob, cronjob_mutation(backup), owner=backup
        )
        self.report(done, "CronJob")
        return cronjob

    def report(self, done: controllerutil.OperationResult, kind: str) -> None:
        if done is not controllerutil.OperationResult.UNCHANGED:
            self.context.attempt().action(f"{done} {kind}")


def config_name(backup: ScheduledBackup) -> str:
    return f"{backup.metadata.name}-backup"


def config_mutation(backup: ScheduledBackup) -> Callable[[ConfigMap], None]:
    """The script and the source it dumps; keys someone else added stay."""

    def mutate(config: ConfigMap) -> None:
        config.data = {**(config.data or {}), SCRIPT_KEY: SCRIPT, SOURCE_KEY: backup.spec.source}

    return mutate


def cronjob_mutation(backup: ScheduledBackup) -> Callable[[CronJob], None]:
    """Set what the spec decides on the live CronJob; server defaults stay untouched."""

    def mutate(cronjob: CronJob) -> None:
        spec = cronjob.spec
        spec.schedule = backup.spec.schedule
        spec.suspend = backup.spec.suspend
        spec.successfulJobsHistoryLimit = backup.spec.keep
        spec.concurrencyPolicy = "Forbid"
        pod = spec.jobTemplate.spec.template.spec if spec.jobTemplate.spec else None
        containers = pod.containers if pod else []
        container = next((c for c in containers if c.name == CONTAINER), None)
        if container is None:  # edited beyond recognition: start from ours again
            spec.jobTemplate = job_template(backup)
        else:
            container.image = backup.spec.image

    return mutate


def job_template(backup: ScheduledBackup) -> JobTemplateSpec:
    source = EnvVarSource(
        configMapKeyRef=ConfigMapKeySelector(name=config_name(backup), key=SOURCE_KEY)
    )
    container = Container(
        name=CONTAINER,
        image=backup.spec.image,
        command=["sh", f"{SCRIPT_DIR}/{SCRIPT_KEY}"],
        env=[EnvVar(name="BACKUP_SOURCE", valueFrom=source)],
        volumeMounts=[VolumeMount(name="script", mountPath=SCRIPT_DIR, readOnly=True)],
    )
    pod = PodSpec(
        containers=[container],
        restartPolicy="OnFailure",
        volumes=[Volume(name="script", configMap=ConfigMapVolumeSource(name=config_name(backup)))],
    )
    return JobTemplateSpec(spec=JobSpec(template=PodTemplateSpec(spec=pod), backoffLimit=2))


def condition(backup: ScheduledBackup, ready: bool, reason: str, message: str) -> Condition:
    return Condition(
        type="Ready",
        status=ConditionStatus.TRUE if ready else ConditionStatus.FALSE,
        reason=reason,
        message=message,
        observed_generation=backup.metadata.generation,
        last_transition_time=datetime.now(UTC),
    )
