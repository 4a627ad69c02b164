"""The record change feed: which resources' database rows changed since a read.

Almost every row a view reads is written by this process — the record writer
(history, reconcile log, metric samples), the REST layer (annotations), the retention
job — so a view may keep what it read and skip the database while nothing it read has
changed since. Every committed write of records names the UIDs it touched
(``touched``; a prune says ``everything``), and a reader keeps its answer with the
``snapshot`` it took *before* reading: the answer is good while ``unchanged(uid,
snapshot)`` holds. A write that commits while a read is under way makes that read's
answer invalid at once, so a kept answer never hides a committed write from a later
reader of this process.

Other processes write too (the controller next to an API-only process, the leader
next to a replica). Their writes reach the feed through a ``db.change_watch.ChangeWatch``
(PostgreSQL LISTEN/NOTIFY; SQLite's ``PRAGMA data_version``). Only while a watch says it
sees every writer is the feed ``live``; a reader keeps nothing otherwise, so a process
that cannot see other writers reads the database every time.

Numbers, not objects: the feed counts writes (``_seq``), and each UID remembers the
count of its last write, so a check is two dict lookups and comparisons.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import repeat

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["CHANNEL", "EVERYTHING", "RecordChanges", "notify"]

#: The PostgreSQL notification channel the writers of records NOTIFY on.
CHANNEL = "kubeweft_records"
#: A payload that says "any row may have changed" (a prune, or too many UIDs to name).
EVERYTHING = "*"
# PostgreSQL refuses a payload of 8,000 bytes or more; a UID and its comma are 37.
_UIDS_PER_NOTIFY = 200


class RecordChanges:
    """A version per UID and a global one, for readers that keep what they read.

    Everything here runs on the event loop's thread (writers publish after their
    commit; the watch publishes what it hears); nothing awaits.
    """

    def __init__(self, *, max_tracked: int = 100_000) -> None:
        self._seq = 0
        self._changed: dict[str, int] = {}
        self._everything = 0
        self._live = False
        self._max_tracked = max_tracked

    @property
    def live(self) -> bool:
        """True while every writer's commits reach this feed (a watch says so)."""
        return self._live

    def snapshot(self) -> int | None:
        """The version a read starts from, or None when its answer must not be kept."""
        return self._seq if self._live else None

    def unchanged(self, uid: str, snapshot: int) -> bool:
        """True when no write of ``uid`` (or of everything) committed after ``snapshot``."""
        return self._live and self._everything <= snapshot and self._changed.get(uid, 0) <= snapshot

    def none_changed(self, uids: Iterable[str], snapshot: int) -> bool:
        """``unchanged`` for every UID of ``uids`` at once (the lookups run in C)."""
        if not self._live or self._everything > snapshot:
            return False
        return max(map(self._changed.get, uids, repeat(0)), default=0) <= snapshot

    def touched(self, uids: Iterable[str]) -> None:
        """These UIDs' rows changed (call after the commit)."""
        self._seq += 1
        seq, changed = self._seq, self._changed
        for uid in uids:
            changed[uid] = seq
        if len(changed) > self._max_tracked:
            # Forget old versions; "everything changed now" keeps every check correct.
            changed.clear()
            self._everything = seq

    def everything(self) -> None:
        """Any row may have changed: no kept answer is good any more."""
        self._seq += 1
        self._everything = self._seq
        self._changed.clear()

    def watching(self, live: bool) -> None:
        """A watch starts or stops seeing every writer; either way nothing kept before
        is trusted (writes may have gone unseen while it was not watching)."""
        self.everything()
        self._live = live


async def notify(session: AsyncSession, uids: Sequence[str] | None) -> None:
    """Tell other processes, in the caller's transaction, which UIDs' rows it writes
    (None: everything). PostgreSQL delivers the notification at commit and drops it on
    rollback; on SQLite there is nothing to send (other processes poll the file)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    if uids is None:
        payloads = [EVERYTHING]
    else:
        unique = sorted(set(uids))
        payloads = [
            ",".join(unique[start : start + _UIDS_PER_NOTIFY])
            for start in range(0, len(unique), _UIDS_PER_NOTIFY)
        ]
    for payload in payloads:
        await session.execute(
            text("SELECT pg_notify(:channel, :payload)"),
            {"channel": CHANNEL, "payload": payload},
        )
