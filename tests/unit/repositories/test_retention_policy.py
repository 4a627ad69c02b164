"""The retention policy the process runs comes from one setting per table."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kubeweft.app import _retention_policy
from kubeweft.repositories.retention import RetentionPolicy
from kubeweft.settings import Settings


def test_each_table_takes_its_own_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "KUBEWEFT_METRIC_RETENTION_DAYS": "1",
        "KUBEWEFT_RECONCILE_LOG_RETENTION_DAYS": "2",
        "KUBEWEFT_AUDIT_RETENTION_DAYS": "3",
        "KUBEWEFT_HISTORY_RETENTION_DAYS": "4.5",
        "KUBEWEFT_ANNOTATION_RETENTION_DAYS": "5",
        "KUBEWEFT_API_KEY_RETENTION_DAYS": "6",
        "KUBEWEFT_RETENTION_BATCH_SIZE": "50",
    }.items():
        monkeypatch.setenv(name, value)
    assert _retention_policy(Settings()) == RetentionPolicy(
        metric_samples=timedelta(days=1),
        reconcile_log=timedelta(days=2),
        audit=timedelta(days=3),
        history=timedelta(days=4.5),
        annotations=timedelta(days=5),
        api_keys=timedelta(days=6),
        batch_size=50,
    )


def test_every_table_has_a_retention() -> None:
    tables = [table for table, _, _ in RetentionPolicy().tables()]
    assert tables == [
        "metric_latest",
        "metric_samples",
        "reconcile_log",
        "api_audit",
        "change_history",
        "annotations",
        "api_keys",
    ]
