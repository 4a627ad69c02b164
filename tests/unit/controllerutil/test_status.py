"""The status write: a merge patch of what changed, without a resourceVersion."""

from __future__ import annotations

import pytest

from kubeweft.controllerutil import merge_patch, patch_status
from kubeweft.examples.webapp.api.v1 import WebApp
from tests.support.fake_client import FakeClient

pytestmark = pytest.mark.anyio


def test_merge_patch_sets_changes_nulls_removals_and_replaces_lists() -> None:
    before = {"a": 1, "gone": "x", "nested": {"keep": 1, "drop": 2}, "list": [1, 2]}
    after = {"a": 2, "nested": {"keep": 1, "new": 3}, "list": [1], "added": {"k": "v"}}
    assert merge_patch(before, after) == {
        "a": 2,
        "gone": None,
        "nested": {"drop": None, "new": 3},
        "list": [1],
        "added": {"k": "v"},
    }
    assert merge_patch(after, after) == {}


@pytest.fixture
def cluster() -> FakeClient:
    cluster = FakeClient()
    cluster.put(
        WebApp.model_validate(
            {
                "metadata": {"name": "shop", "namespace": "default", "uid": "u"},
                "spec": {"image": "nginx:1"},
                "status": {"replicas": 1, "serviceName": "shop"},
            }
        )
    )
    return cluster


async def test_patch_status_succeeds_from_a_stale_copy_and_sends_only_changes(
    cluster: FakeClient,
) -> None:
    stale = await cluster.get(WebApp, "shop")
    cluster.edit("WebApp", "shop", lambda d: d["status"].update(availableReplicas=4))
    changed = stale.model_copy(deep=True)
    changed.status.ready_replicas = 2
    changed.status.service_name = None

    assert await patch_status(cluster, changed, stale)  # an update_status would be a 409

    status = cluster.raw("WebApp", "shop")["status"]
    assert status["readyReplicas"] == 2  # ours
    assert status["availableReplicas"] == 4  # written meanwhile, kept
    assert "serviceName" not in status  # removed by a null in the patch
    assert cluster.writes == [("update_status", "WebApp", "shop")]


async def test_patch_status_writes_nothing_when_nothing_changed(cluster: FakeClient) -> None:
    current = await cluster.get(WebApp, "shop")
    assert not await patch_status(cluster, current.model_copy(deep=True), current)
    assert cluster.writes == []
