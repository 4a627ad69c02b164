"""What the ScheduledBackup reconciler wants of its ConfigMap and CronJob, without a cluster."""

from __future__ import annotations

import pytest
from lightkube.models.batch_v1 import CronJobSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.batch_v1 import CronJob
from lightkube.resources.core_v1 import ConfigMap
from pydantic import ValidationError

from backup.api.v1alpha1 import ScheduledBackup
from backup.controllers.scheduledbackup import (
    CONTAINER,
    SCRIPT_KEY,
    config_mutation,
    cronjob_mutation,
    job_template,
)


def backup(**spec: object) -> ScheduledBackup:
    body = {"schedule": "0 3 * * *", "source": "postgres://db/shop", **spec}
    return ScheduledBackup.model_validate(
        {"metadata": {"name": "nightly", "namespace": "shop"}, "spec": body}
    )


def cronjob(spec: CronJobSpec) -> CronJob:
    return CronJob(metadata=ObjectMeta(name="nightly", namespace="shop"), spec=spec)


def test_the_job_runs_the_script_from_the_configmap_with_the_source() -> None:
    pod = job_template(backup()).spec.template.spec  # type: ignore[union-attr]
    assert pod is not None
    (container,) = pod.containers
    assert container.command == ["sh", f"/etc/backup/{SCRIPT_KEY}"]
    (env,) = container.env or []
    assert env.valueFrom is not None
    assert env.valueFrom.configMapKeyRef is not None
    assert (env.valueFrom.configMapKeyRef.name, env.valueFrom.configMapKeyRef.key) == (
        "nightly-backup",
        "source",
    )
    (volume,) = pod.volumes or []
    assert volume.configMap is not None
    assert volume.configMap.name == "nightly-backup"


def test_a_live_cronjob_keeps_server_defaults_and_takes_the_spec() -> None:
    live = cronjob(CronJobSpec(schedule="0 3 * * *", jobTemplate=job_template(backup())))
    pod = live.spec.jobTemplate.spec.template.spec  # type: ignore[union-attr]
    assert pod is not None
    pod.dnsPolicy = "ClusterFirst"  # as the API server defaults it
    live.spec.failedJobsHistoryLimit = 1

    cronjob_mutation(backup(schedule="@hourly", image="postgres:18", keep=7, suspend=True))(live)

    assert (live.spec.schedule, live.spec.suspend, live.spec.successfulJobsHistoryLimit) == (
        "@hourly",
        True,
        7,
    )
    assert (pod.dnsPolicy, live.spec.failedJobsHistoryLimit) == ("ClusterFirst", 1)
    assert [c.image for c in pod.containers] == ["postgres:18"]


def test_a_cronjob_without_our_container_gets_the_template_back() -> None:
    template = job_template(backup())
    template.spec.template.spec.containers[0].name = "other"  # type: ignore[union-attr]
    live = cronjob(CronJobSpec(schedule="0 3 * * *", jobTemplate=template))
    cronjob_mutation(backup())(live)
    pod = live.spec.jobTemplate.spec.template.spec  # type: ignore[union-attr]
    assert pod is not None
    assert [c.name for c in pod.containers] == [CONTAINER]


def test_the_configmap_holds_script_and_source_and_keeps_other_keys() -> None:
    config = ConfigMap(metadata=ObjectMeta(name="nightly-backup"), data={"note": "mine"})
    config_mutation(backup(source="postgres://db/orders"))(config)
    assert config.data is not None
    assert config.data["source"] == "postgres://db/orders"
    assert config.data["note"] == "mine"
    assert "pg_dump" in config.data[SCRIPT_KEY]


@pytest.mark.parametrize("schedule", ["", "every night", "0 3 * *", "@fortnightly"])
def test_a_schedule_that_is_not_cron_is_refused(schedule: str) -> None:
    with pytest.raises(ValidationError, match="schedule"):
        backup(schedule=schedule)
