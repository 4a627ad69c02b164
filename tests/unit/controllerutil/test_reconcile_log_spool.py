"""History kept on disk around a reconcile: the record of a generation not yet recorded
goes to the spool while the reconciler starts (its first write need not wait for an
fsync) and is there *before* a status write (which may advance observedGeneration:
``patch_status`` waits for it), stays after a success until the writer stores it, and
is dropped when the attempt fails — but kept when the attempt is cut short by the
process stopping, since whether it acted is then unknown."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import anyio
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from kubeweft import controllerutil
from kubeweft.controllerutil.reconcile_log import LoggedReconciler, current_attempt
from kubeweft.db.records import HistoryRecord, Record
from kubeweft.db.spool import HistorySpool
from kubeweft.db.writer import RecordWriter
from kubeweft.runtime import errors
from kubeweft.runtime.reconcile import Request, Result
from tests.support.fake_client import FakeClient
from tests.support.models import CronTab, crontab

pytestmark = pytest.mark.anyio

REQUEST = Request("default", "nightly")


class Writer(RecordWriter):
    """A writer with a spool that is never run: it keeps what it is given."""

    def __init__(self, spool: HistorySpool) -> None:
        super().__init__(async_sessionmaker(), spool=spool)
        self.submitted: list[Record] = []

    def submit(self, record: Record) -> None:
        self.submitted.append(record)

    def changes(self) -> list[int]:
        return [r.generation for r in self.submitted if isinstance(r, HistoryRecord)]


class Scripted:
    """Answers as told, and notes which generations the spool held when it came to write
    status (``current_attempt().kept()``, as ``patch_status`` does)."""

    def __init__(self, spool: HistorySpool) -> None:
        self.spool = spool
        self.outcome: Result | BaseException = Result()
        self.held_while_running: list[list[int]] = []

    async def reconcile(self, request: Request) -> Result:
        await current_attempt().kept()
        self.held_while_running.append([r.generation for r in self.spool.load()])
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome


@pytest.fixture
def cluster() -> FakeClient:
    cluster = FakeClient()
    cluster.put(CronTab.model_validate(crontab("nightly", "default")))
    cluster.edit("CronTab", "nightly", lambda d: d["metadata"].update(uid="ct-uid", generation=1))
    return cluster


@pytest.fixture
def spool(tmp_path: Path) -> HistorySpool:
    return HistorySpool(tmp_path / "history-spool")


def logged(cluster: FakeClient, spool: HistorySpool) -> tuple[LoggedReconciler, Scripted, Writer]:
    inner, writer = Scripted(spool), Writer(spool)
    return LoggedReconciler(inner, CronTab, cluster, writer), inner, writer


def on_disk(spool: HistorySpool) -> list[int]:
    return [r.generation for r in spool.load()]


def next_generation(cluster: FakeClient) -> None:
    cluster.edit("CronTab", "nightly", lambda d: d["metadata"].update(generation=2))


async def test_the_generation_is_on_disk_before_the_status_is_written(
    cluster: FakeClient, spool: HistorySpool
) -> None:
    reconciler, inner, writer = logged(cluster, spool)

    await reconciler.reconcile(REQUEST)
    await reconciler.reconcile(REQUEST)  # recorded: nothing kept again

    assert inner.held_while_running == [[1], [1]]
    assert writer.changes() == [1]
    assert on_disk(spool) == [1]  # until the writer has stored it


async def test_a_failed_attempt_leaves_nothing_on_disk_and_the_retry_keeps_it_again(
    cluster: FakeClient, spool: HistorySpool
) -> None:
    reconciler, inner, writer = logged(cluster, spool)
    inner.outcome = errors.ServerError(500, "InternalError", "etcd down")
    with pytest.raises(errors.ServerError):
        await reconciler.reconcile(REQUEST)
    assert on_disk(spool) == []
    inner.outcome = Result(requeue=True)
    await reconciler.reconcile(REQUEST)
    assert on_disk(spool) == []
    assert writer.changes() == []

    inner.outcome = Result()
    await reconciler.reconcile(REQUEST)

    assert inner.held_while_running == [[1], [1], [1]]
    assert writer.changes() == [1]
    assert on_disk(spool) == [1]


async def test_an_attempt_cut_short_keeps_its_generation_until_a_later_one_is_recorded(
    cluster: FakeClient, spool: HistorySpool
) -> None:
    reconciler, inner, writer = logged(cluster, spool)
    inner.outcome = anyio.get_cancelled_exc_class()()
    with pytest.raises(anyio.get_cancelled_exc_class()):
        await reconciler.reconcile(REQUEST)
    assert on_disk(spool) == [1]  # the process may die now: it might have acted on 1

    next_generation(cluster)
    inner.outcome = Result()
    await reconciler.reconcile(REQUEST)

    assert writer.changes() == [2]
    assert on_disk(spool) == [2]  # 1 was superseded before any attempt of it succeeded


async def test_a_generation_a_previous_process_left_is_not_dropped_by_a_failure(
    cluster: FakeClient, spool: HistorySpool
) -> None:
    reconciler, inner, writer = logged(cluster, spool)
    left = HistoryRecord(
        uid="ct-uid", namespace="default", name="nightly", kind="CronTab", generation=1, spec={}
    )
    assert spool.keep(left)

    inner.outcome = Result(requeue=True)
    await reconciler.reconcile(REQUEST)

    assert on_disk(spool) == [1]  # the writer is replaying it; it is not this process's
    assert writer.changes() == []


class SlowDisk(HistorySpool):
    """A spool whose ``keep`` lasts until the reconciler has started (at most 10 s)."""

    def __init__(self, directory: Path, order: list[str]) -> None:
        super().__init__(directory)
        self.order = order
        self.reconciler_started = threading.Event()

    def keep(self, record: HistoryRecord) -> bool:
        self.reconciler_started.wait(timeout=10)
        kept = super().keep(record)
        self.order.append("kept")
        return kept


class StatusClient(FakeClient):
    def __init__(self, order: list[str]) -> None:
        super().__init__()
        self.order = order

    async def patch(self, *args: Any, **kwargs: Any) -> Any:
        self.order.append("status")
        return await super().patch(*args, **kwargs)


async def test_the_reconciler_writes_while_the_record_goes_to_disk_and_status_waits(
    cluster: FakeClient, tmp_path: Path
) -> None:
    order: list[str] = []
    spool = SlowDisk(tmp_path / "history-spool", order)
    status_client = StatusClient(order)
    status_client.put(await cluster.get(CronTab, "nightly", "default"))

    class WritesThenStatus:
        async def reconcile(self, request: Request) -> Result:
            order.append("owned object written")  # e.g. the Deployment update
            spool.reconciler_started.set()
            original = await status_client.get(CronTab, "nightly", "default")
            changed = original.model_copy(deep=True)
            changed.status.active = 1
            assert await controllerutil.patch_status(status_client, changed, original)
            return Result()

    writer = Writer(spool)
    reconciler = LoggedReconciler(WritesThenStatus(), CronTab, cluster, writer)
    await reconciler.reconcile(REQUEST)

    assert order == ["owned object written", "kept", "status"]
    assert writer.changes() == [1]
    assert on_disk(spool) == [1]
