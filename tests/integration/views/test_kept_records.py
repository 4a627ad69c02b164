"""The join's database side keeps what it read while the change feed says it holds,
on SQLite and PostgreSQL: a kept read makes no statement, and a write by the record
writer, an annotation, a prune, a write by another engine (as another process would
make it) and the metric window moving past its oldest sample each make the next read
show the change. Reads are counted through SQLAlchemy's cursor events plus the read
model's driver connections (the detail's statement bypasses SQLAlchemy)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import anyio
import pytest
from sqlalchemy import text

from kubeweft.db.change_watch import APPLICATION_NAME, ChangeWatch
from kubeweft.db.changes import RecordChanges
from kubeweft.db.engine import Database
from kubeweft.db.records import HistoryRecord, MetricSample, ReconcileRecord
from kubeweft.db.types import utcnow
from kubeweft.db.writer import RecordWriter
from kubeweft.repositories import metrics, unit_of_work
from kubeweft.repositories.retention import RetentionJob, RetentionPolicy
from kubeweft.views.records import ResourceRef
from kubeweft.views.repository_source import RepositorySource
from tests.support.postgres import POSTGRESQL_ONLY
from tests.support.statements import counting
from tests.support.waiting import wait_until_async

pytestmark = pytest.mark.anyio

WINDOW = timedelta(minutes=5)


@dataclass
class Watched:
    feed: RecordChanges
    writer: RecordWriter
    watch: ChangeWatch

    async def write(self, *records: Any) -> None:
        """Write through the record writer; return once the watch has heard it too (its
        echo of this process's own commits must not land between a test's reads)."""
        for record in records:
            self.writer.submit(record)
        assert await self.writer.flush(30)
        await self.watch.sync()


@asynccontextmanager
async def watched(database: Database) -> AsyncIterator[Watched]:
    """A live change feed (its watch running) and a record writer that tells it."""
    feed = RecordChanges()
    writer = RecordWriter(database, changes=feed)
    watch = ChangeWatch(database, feed, poll_interval=0.05)
    async with anyio.create_task_group() as tg:
        await tg.start(watch.run)
        await tg.start(writer.run)

        async def live() -> bool:
            return feed.live

        await wait_until_async(live, what="the change watch to see every writer")
        yield Watched(feed, writer, watch)
        tg.cancel_scope.cancel()


def ref(uid: str) -> ResourceRef:
    return ResourceRef(uid, "WebApp", "ns", "app")


def history(uid: str, generation: int) -> HistoryRecord:
    return HistoryRecord(uid, "ns", "app", "WebApp", generation, {"image": f"v{generation}"})


async def test_a_detail_is_kept_until_a_write_of_its_uid(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    uid, other = str(uuid.uuid4()), str(uuid.uuid4())
    now = utcnow()
    async with watched(database) as env:
        source = RepositorySource(database, changes=env.feed)
        await env.write(history(uid, 1), MetricSample(uid, "cpu", 1.0, now))
        first = await source.resource_records(uid, history_limit=10, since=now - WINDOW)
        assert [h.generation for h in first.history] == [1]

        with counting(database, monkeypatch) as reads:
            again = await source.resource_records(uid, history_limit=10, since=now - WINDOW)
        assert again is first
        assert reads == []

        await env.write(MetricSample(other, "cpu", 9.0, now))  # another UID
        with counting(database, monkeypatch) as reads:
            kept = await source.resource_records(uid, history_limit=10, since=now - WINDOW)
        # PostgreSQL names the UID; SQLite's data_version says only "a commit", so any
        # commit drops every kept read there.
        assert (kept is first, len(reads)) == (
            (True, 0) if database.dialect == "postgresql" else (False, 1)
        )

        # The writer tells this process's feed at commit: the very next read shows it,
        # whether or not the watch has heard of the commit yet.
        env.writer.submit(history(uid, 2))
        env.writer.submit(MetricSample(uid, "cpu", 2.0, now))
        assert await env.writer.flush(30)
        with counting(database, monkeypatch) as reads:
            after = await source.resource_records(uid, history_limit=10, since=now - WINDOW)
        assert len(reads) == 1
        assert [h.generation for h in after.history] == [2, 1]
        assert after.metrics["cpu"].count == 2


async def test_an_annotation_and_its_deletion_show_on_the_next_read(database: Database) -> None:
    uid = str(uuid.uuid4())
    since = utcnow() - WINDOW
    async with watched(database) as env:
        source = RepositorySource(database, changes=env.feed)
        assert (await source.resource_records(uid, history_limit=10, since=since)).annotations == []
        note = await source.add_annotation(ref(uid), author="alice", body="looked at it")
        shown = await source.resource_records(uid, history_limit=10, since=since)
        assert [a.body for a in shown.annotations] == ["looked at it"]
        assert await source.delete_annotation(uid, note.id)
        assert (await source.resource_records(uid, history_limit=10, since=since)).annotations == []


async def test_a_prune_shows_on_the_next_read(database: Database) -> None:
    uid = str(uuid.uuid4())
    now = utcnow()
    async with watched(database) as env:
        source = RepositorySource(database, changes=env.feed)
        await env.write(MetricSample(uid, "cpu", 1.0, now))
        before = await source.resource_records(uid, history_limit=10, since=now - WINDOW)
        assert set(before.metrics) == {"cpu"}
        assert set((await source.latest_metrics([uid]))[uid]) == {"cpu"}

        job = RetentionJob(database, RetentionPolicy(), changes=env.feed)
        deleted = await job.prune_once(now=now + timedelta(days=8))
        assert deleted["metric_samples"] == 1

        after = await source.resource_records(uid, history_limit=10, since=now - WINDOW)
        assert after.metrics == {}
        assert (await source.latest_metrics([uid]))[uid] == {}


async def test_a_write_by_another_engine_reaches_kept_reads(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing in this process hears of the other engine's write but the watch."""
    uid = str(uuid.uuid4())
    now = utcnow()
    async with watched(database) as env:
        source = RepositorySource(database, changes=env.feed)
        await env.write(MetricSample(uid, "cpu", 1.0, now))
        kept = await source.resource_records(uid, history_limit=10, since=now - WINDOW)
        page = await source.latest_metrics([uid])
        with counting(database, monkeypatch) as reads:
            assert await source.resource_records(uid, history_limit=10, since=now - WINDOW) is kept
            assert await source.latest_metrics([uid]) == page
        assert reads == []

        async with Database(database.url) as elsewhere, unit_of_work(elsewhere) as session:
            await metrics.record_samples(session, [MetricSample(uid, "cpu", 5.0, now)])

        async def cpu() -> tuple[int, float]:
            detail = await source.resource_records(uid, history_limit=10, since=now - WINDOW)
            latest = (await source.latest_metrics([uid]))[uid]
            return detail.metrics["cpu"].count, latest["cpu"].value

        await wait_until_async(
            cpu, what="the other engine's sample", accept=lambda got: got == (2, 5.0)
        )


async def test_the_window_moving_past_its_oldest_sample_ends_a_kept_detail(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No write: the figures change because the window's start passes a sample, then an
    attempt; until then the kept rows answer."""
    uid = str(uuid.uuid4())
    now = utcnow()
    sampled, attempted = now - timedelta(minutes=4), now - timedelta(minutes=3)
    async with watched(database) as env:
        source = RepositorySource(database, changes=env.feed)
        await env.write(
            MetricSample(uid, "cpu", 1.0, sampled),
            ReconcileRecord(uid, "ns", "app", "WebApp", attempted, 0.1, "error"),
        )
        first = await source.resource_records(uid, history_limit=10, since=now - WINDOW)
        assert first.metrics["cpu"].count == 1
        assert first.reconcile_error_rate == 1.0

        with counting(database, monkeypatch) as reads:
            # Still holds: the window's start has not passed the sample.
            assert await source.resource_records(uid, history_limit=10, since=sampled) is first
        assert reads == []

        with counting(database, monkeypatch) as reads:
            past_sample = await source.resource_records(
                uid, history_limit=10, since=sampled + timedelta(microseconds=1)
            )
        assert len(reads) == 1
        assert past_sample.metrics == {}
        assert past_sample.reconcile_error_rate == 1.0  # the attempt is still inside

        past_attempt = await source.resource_records(
            uid, history_limit=10, since=attempted + timedelta(microseconds=1)
        )
        assert past_attempt.reconcile_error_rate is None


async def test_a_list_page_is_kept_until_a_uid_on_it_is_written(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    uids = [str(uuid.uuid4()) for _ in range(3)]
    now = utcnow()
    async with watched(database) as env:
        source = RepositorySource(database, changes=env.feed)
        await env.write(*(MetricSample(uid, "cpu", 1.0, now) for uid in uids[:2]))
        first = await source.latest_metrics(uids)
        assert first[uids[2]] == {}

        with counting(database, monkeypatch) as reads:
            again = await source.latest_metrics(uids)
        assert reads == []
        assert all(again[uid] is first[uid] for uid in uids)

        await env.write(MetricSample(uids[1], "cpu", 7.0, now + timedelta(seconds=1)))
        with counting(database, monkeypatch) as reads:
            changed = await source.latest_metrics(uids)
        assert len(reads) == 1
        assert changed[uids[1]]["cpu"].value == 7.0
        assert changed[uids[0]] is first[uids[0]]

        newcomer = str(uuid.uuid4())  # a UID never read: the page is read again
        with counting(database, monkeypatch) as reads:
            await source.latest_metrics([*uids, newcomer])
        assert len(reads) == 1


async def test_without_a_live_feed_every_read_goes_to_the_database(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process whose watch does not run (or has lost the database) keeps nothing."""
    uid = str(uuid.uuid4())
    since = utcnow() - WINDOW
    source = RepositorySource(database, changes=RecordChanges())
    with counting(database, monkeypatch) as reads:
        for _ in range(2):
            await source.resource_records(uid, history_limit=10, since=since)
            await source.latest_metrics([uid])
    assert len(reads) == 4


async def _listener_pid(database: Database) -> int | None:
    async with database.engine.connect() as conn:
        found = await conn.execute(
            text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name = :name"
            ),
            {"name": APPLICATION_NAME},
        )
        pids = found.scalars().all()
    return pids[0] if len(pids) == 1 else None


@POSTGRESQL_ONLY
async def test_a_lost_listening_connection_drops_kept_reads(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL: a write NOTIFYed while the watch's connection is gone is missed; the
    watch drops every kept read and listens again, so the next read shows the write."""
    uid = str(uuid.uuid4())
    now = utcnow()
    async with watched(database) as env:
        source = RepositorySource(database, changes=env.feed)
        await env.write(MetricSample(uid, "cpu", 1.0, now))
        await source.resource_records(uid, history_limit=10, since=now - WINDOW)
        listener = await wait_until_async(
            lambda: _listener_pid(database), what="the watch's LISTEN connection"
        )
        async with database.engine.connect() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": listener})
            await conn.commit()
        async with Database(database.url) as elsewhere, unit_of_work(elsewhere) as session:
            await metrics.record_samples(session, [MetricSample(uid, "cpu", 5.0, now)])

        async def listening_again() -> bool:
            pid = await _listener_pid(database)
            return env.feed.live and pid is not None and pid != listener

        await wait_until_async(listening_again, what="the watch to listen again")
        with counting(database, monkeypatch) as reads:
            shown = await source.resource_records(uid, history_limit=10, since=now - WINDOW)
        assert len(reads) == 1
        assert shown.metrics["cpu"].count == 2


async def test_concurrent_reads_after_a_write_share_one_statement(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first reads; the others wait for it and take what it kept."""
    uids = [str(uuid.uuid4()) for _ in range(3)]
    now = utcnow()
    async with watched(database) as env:
        source = RepositorySource(database, changes=env.feed)
        await env.write(*(MetricSample(uid, "cpu", 1.0, now) for uid in uids))
        pages: list[Any] = []
        details: list[Any] = []

        async def page() -> None:
            pages.append(await source.latest_metrics(uids))

        async def detail() -> None:
            details.append(
                await source.resource_records(uids[0], history_limit=10, since=now - WINDOW)
            )

        with counting(database, monkeypatch) as reads:
            async with anyio.create_task_group() as tg:
                for _ in range(8):
                    tg.start_soon(page)
                    tg.start_soon(detail)
        assert len(reads) == 2, reads
        assert all(p == pages[0] for p in pages)
        assert pages[0][uids[2]]["cpu"].value == 1.0
        assert all(d is details[0] for d in details)
        assert details[0].metrics["cpu"].count == 1
