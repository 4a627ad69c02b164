"""The record change feed: a reader's snapshot holds until a write of its UID (or of
everything) commits after it, and only while a watch says the feed sees every writer."""

from __future__ import annotations

from kubeweft.db.changes import RecordChanges

UID, OTHER = "6c4c5a5e-1111-4222-8333-944444444401", "6c4c5a5e-1111-4222-8333-944444444402"


def live_feed(**options: int) -> RecordChanges:
    feed = RecordChanges(**options)
    feed.watching(True)
    return feed


def test_a_feed_no_watch_sees_keeps_nothing() -> None:
    feed = RecordChanges()
    assert feed.snapshot() is None
    assert not feed.unchanged(UID, 0)


def test_a_write_after_the_snapshot_ends_it_for_its_uid_only() -> None:
    feed = live_feed()
    feed.touched([UID])  # committed before the read began: seen by the read
    snapshot = feed.snapshot()
    assert snapshot is not None
    assert feed.unchanged(UID, snapshot)
    feed.touched([OTHER])
    assert feed.unchanged(UID, snapshot)
    assert not feed.unchanged(OTHER, snapshot)
    feed.touched([UID])
    assert not feed.unchanged(UID, snapshot)


def test_everything_and_a_lost_watch_end_every_snapshot() -> None:
    feed = live_feed()
    snapshot = feed.snapshot()
    assert snapshot is not None
    feed.everything()
    assert not feed.unchanged(UID, snapshot)

    again = feed.snapshot()
    assert again is not None
    feed.watching(False)
    assert feed.snapshot() is None
    feed.watching(True)  # watching again: what was kept before may have missed writes
    assert not feed.unchanged(UID, again)


def test_forgetting_old_versions_counts_as_everything() -> None:
    feed = live_feed(max_tracked=2)
    snapshot = feed.snapshot()
    assert snapshot is not None
    feed.touched([OTHER, "a", "b"])  # three tracked UIDs: versions forgotten
    assert not feed.unchanged(UID, snapshot)
    later = feed.snapshot()
    assert later is not None
    assert feed.unchanged(UID, later)
