"""A model declared only in the tests (CronTab) goes through the same generator onto
the real API server: no framework change, and its rules are enforced by the server."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kubeweft.localcluster import ClusterAccess
from tests.support.models import CronTab, crontab

pytestmark = pytest.mark.localcluster


def create(cluster: ClusterAccess, namespace: str, name: str, **spec: Any) -> Any:
    return cluster.kubectl(
        "create", "-n", namespace, "-f", "-",
        input=json.dumps(crontab(name, namespace, **spec)), check=False,
    )  # fmt: skip


def test_valid_crontab_is_stored_with_server_defaults(
    local_cluster: ClusterAccess, crontab_crd: str, namespace: str
) -> None:
    result = create(local_cluster, namespace, "nightly", tags=["a", "b"], metricsPort="http")
    assert result.returncode == 0, result.stderr
    stored = json.loads(
        local_cluster.kubectl("get", "-n", namespace, "crontab", "nightly", "-o", "json").stdout
    )
    spec = stored["spec"]
    assert spec["concurrencyPolicy"] == "Allow"
    assert spec["historyLimit"] == 3
    assert spec["suspend"] is False
    assert spec["schedule"] == {"cron": "*/5 * * * *", "timeZone": "UTC"}
    # What the server stored reads back into the Python model unchanged.
    model = CronTab.from_dict(stored)
    assert model.spec.tags == {"a", "b"}
    assert model.spec.metrics_port == "http"
    table = local_cluster.kubectl("get", "-n", namespace, "ct").stdout.splitlines()
    assert table[0].split() == ["NAME", "SCHEDULE", "SUSPENDED"]
    assert table[1].split()[0] == "nightly"
    wide = local_cluster.kubectl("get", "-n", namespace, "ct", "-o", "wide").stdout
    assert "ACTIVE" in wide.splitlines()[0]


def test_int_or_string_accepts_both(
    local_cluster: ClusterAccess, crontab_crd: str, namespace: str
) -> None:
    assert create(local_cluster, namespace, "numeric", metricsPort=9090).returncode == 0
    refused = create(local_cluster, namespace, "boolean", metricsPort=True)
    assert refused.returncode != 0
    assert "spec.metricsPort" in refused.stderr


INVALID: list[tuple[str, dict[str, Any], str]] = [
    ("enum", {"concurrencyPolicy": "Sometimes"}, "spec.concurrencyPolicy"),
    ("pattern", {"schedule": {"cron": "every day"}}, "spec.schedule.cron"),
    ("nested-required", {"schedule": {"timeZone": "UTC"}}, "spec.schedule.cron"),
    ("min-items", {"containers": []}, "spec.containers"),
    (
        "map-key-duplicate",
        {"containers": [{"name": "a", "image": "x"}, {"name": "a", "image": "y"}]},
        "spec.containers[1]",
    ),
    ("item-pattern", {"containers": [{"name": "Main", "image": "x"}]}, "spec.containers[0].name"),
    ("set-duplicate", {"tags": ["a", "a"]}, "spec.tags[1]"),
    ("maximum", {"historyLimit": 11}, "spec.historyLimit"),
    ("exclusive-minimum", {"deadlineSeconds": 0}, "spec.deadlineSeconds"),
    ("map-values", {"labels": {"a": 1}}, "spec.labels.a"),
]


@pytest.mark.parametrize(("case", "spec", "field"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid_crontabs_are_rejected(
    local_cluster: ClusterAccess,
    crontab_crd: str,
    namespace: str,
    case: str,
    spec: dict[str, Any],
    field: str,
) -> None:
    result = create(local_cluster, namespace, case, **spec)
    assert result.returncode != 0, result.stdout
    assert field in result.stderr, result.stderr
