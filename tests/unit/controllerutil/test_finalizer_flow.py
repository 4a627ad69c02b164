"""The finalizer flow: add on a live object, clean up and release on deletion."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from kubeweft import controllerutil
from kubeweft.runtime import errors
from tests.support.fake_client import FakeClient
from tests.support.models import CronTab, crontab

pytestmark = pytest.mark.anyio

F = "tenants.example.com/registry"


class Events:
    def __init__(self) -> None:
        self.recorded: list[tuple[str, str, str, str]] = []

    def event(self, obj: Any, type: Any, reason: str, message: str) -> None:
        self.recorded.append((obj.metadata.name, type, reason, message))


class Cleanup:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.calls: list[str] = []

    async def __call__(self, obj: Any) -> None:
        self.calls.append(obj.metadata.name)
        if self.error is not None:
            raise self.error


def nightly(*, finalizers: list[str] | None = None, deleting: bool = False) -> CronTab:
    manifest: dict[str, Any] = crontab("nightly", "default")
    manifest["metadata"].update(
        uid="u-1", generation=1, creationTimestamp=datetime(2026, 1, 1, tzinfo=UTC)
    )
    if finalizers is not None:
        manifest["metadata"]["finalizers"] = finalizers
    if deleting:
        manifest["metadata"]["deletionTimestamp"] = datetime(2026, 1, 2, tzinfo=UTC)
    return CronTab.model_validate(manifest)


async def stored(cluster: FakeClient) -> CronTab:
    return await cluster.get(CronTab, "nightly", "default")


async def test_a_live_object_gets_the_finalizer_in_one_patch_and_proceeds() -> None:
    cluster, events, cleanup = FakeClient(), Events(), Cleanup()
    cluster.put(nightly(finalizers=["other/keep"]))
    obj = await stored(cluster)

    result = await controllerutil.handle_finalizer(cluster, obj, F, cleanup, events=events)

    assert result == controllerutil.FinalizerResult(deleting=False, updated=True)
    assert result.proceed
    assert [name for _, _, name in cluster.writes] == ["nightly"]  # one write: the patch
    assert (await stored(cluster)).metadata.finalizers == ["other/keep", F]
    # The caller's object holds the server's metadata (the new resourceVersion).
    assert obj.metadata.resourceVersion == (await stored(cluster)).metadata.resourceVersion
    assert obj.metadata.finalizers == ["other/keep", F]
    assert cleanup.calls == []
    assert events.recorded == []


async def test_a_live_object_that_has_it_is_not_written() -> None:
    cluster, events, cleanup = FakeClient(), Events(), Cleanup()
    cluster.put(nightly(finalizers=[F]))

    result = await controllerutil.handle_finalizer(
        cluster, await stored(cluster), F, cleanup, events=events
    )

    assert result == controllerutil.FinalizerResult(deleting=False, updated=False)
    assert cluster.writes == []
    assert cleanup.calls == []


async def test_adding_from_a_stale_copy_is_a_conflict_not_a_lost_finalizer() -> None:
    cluster, events = FakeClient(), Events()
    cluster.put(nightly(finalizers=[]))
    stale = await stored(cluster)
    cluster.edit("CronTab", "nightly", lambda d: d["metadata"].update(finalizers=["other/new"]))

    with pytest.raises(errors.Conflict):
        await controllerutil.handle_finalizer(cluster, stale, F, Cleanup(), events=events)

    assert (await stored(cluster)).metadata.finalizers == ["other/new"]


async def test_deletion_runs_the_cleanup_then_removes_only_this_finalizer() -> None:
    cluster, events, cleanup = FakeClient(), Events(), Cleanup()
    cluster.put(nightly(finalizers=["other/keep", F], deleting=True))

    result = await controllerutil.handle_finalizer(
        cluster, await stored(cluster), F, cleanup, events=events
    )

    assert result == controllerutil.FinalizerResult(deleting=True, updated=True)
    assert not result.proceed
    assert cleanup.calls == ["nightly"]
    assert [name for _, _, name in cluster.writes] == ["nightly"]  # one write: the patch
    assert (await stored(cluster)).metadata.finalizers == ["other/keep"]
    assert events.recorded == []


async def test_a_failed_cleanup_keeps_the_finalizer_records_a_warning_and_raises() -> None:
    cluster, events = FakeClient(), Events()
    cluster.put(nightly(finalizers=[F], deleting=True))
    cleanup = Cleanup(RuntimeError("registry unreachable"))

    with pytest.raises(RuntimeError, match="registry unreachable"):
        await controllerutil.handle_finalizer(
            cluster, await stored(cluster), F, cleanup, events=events
        )

    warning = ("nightly", "Warning", "CleanupFailed", f"{F}: registry unreachable")
    assert events.recorded == [warning]
    assert cluster.writes == []
    assert (await stored(cluster)).metadata.finalizers == [F]

    # The retry (the controller's backoff) succeeds and releases the object.
    cleanup.error = None
    result = await controllerutil.handle_finalizer(
        cluster, await stored(cluster), F, cleanup, events=events
    )
    assert result.deleting
    assert result.updated
    assert cleanup.calls == ["nightly", "nightly"]
    assert not (await stored(cluster)).metadata.finalizers


async def test_deletion_without_this_finalizer_runs_nothing() -> None:
    cluster, events, cleanup = FakeClient(), Events(), Cleanup()
    cluster.put(nightly(finalizers=["other/keep"], deleting=True))

    result = await controllerutil.handle_finalizer(
        cluster, await stored(cluster), F, cleanup, events=events
    )

    assert result == controllerutil.FinalizerResult(deleting=True, updated=False)
    assert cleanup.calls == []
    assert cluster.writes == []


async def test_an_object_gone_before_the_release_counts_as_released() -> None:
    cluster, events, cleanup = FakeClient(), Events(), Cleanup()
    cluster.put(nightly(finalizers=[F], deleting=True))
    obj = await stored(cluster)
    await cluster.delete(CronTab, "nightly", "default")

    result = await controllerutil.handle_finalizer(cluster, obj, F, cleanup, events=events)

    assert result.deleting
    assert cleanup.calls == ["nightly"]
