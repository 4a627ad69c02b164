"""client-go's ``MutationCache``: this process's own writes, shown before the watch does.

An informer's store changes only when the watch delivers an event, some milliseconds
after the API server answered the write — under load, as long as the write itself. A
process that has just written an object already holds the API server's answer;
``SharedInformer.mutation`` keeps it here, and a read of that object returns it while
it is newer than what the store holds, so the process reads its own writes at once.

Versions are compared as integers (etcd revisions), as client-go's
``NewIntegerResourceVersionMutationCache`` does; an answer whose version is not an
integer is not kept. An entry goes as soon as the informer has observed its version or
a newer one — the store then holds that write, a later change, or the deletion, and
knows better — or after ``ttl`` seconds (a watch that is down must not pin an answer
for ever); past ``capacity`` the oldest goes first. Unlike client-go's, the store is
the informer's own, so the entries are pruned as the watch advances rather than only
when read.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from kubeweft.runtime.clock import Clock
from kubeweft.runtime.objects import ObjectKey

__all__ = ["MutationCache", "integer_version"]


def integer_version(resource_version: str | None) -> int | None:
    """``resource_version`` as an integer, or None when it is not one."""
    if resource_version is None or not resource_version.isdigit():
        return None
    return int(resource_version)


@dataclass(frozen=True)
class _Mutation:
    entry: Any  # what the informer's store would hold: the object, or its bytes
    version: int
    expires: float


class MutationCache:
    """The objects this process wrote, by key, until the informer's watch catches up."""

    def __init__(self, clock: Clock, *, ttl: float = 30.0, capacity: int = 1000) -> None:
        self._clock = clock
        self._ttl = ttl
        self._capacity = capacity
        # Insertion order is write order: the front is the oldest, pruned first.
        self._entries: OrderedDict[ObjectKey, _Mutation] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, key: ObjectKey, entry: Any, version: int) -> None:
        """Keep ``entry`` (at ``version``) for ``key``, replacing what was kept."""
        self._entries.pop(key, None)
        self._entries[key] = _Mutation(entry, version, self._clock.now() + self._ttl)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)

    def get(self, key: ObjectKey) -> tuple[Any, int] | None:
        """The entry kept for ``key`` and its version, or None (none, or expired)."""
        mutation = self._entries.get(key)
        if mutation is None:
            return None
        if mutation.expires <= self._clock.now():
            del self._entries[key]
            return None
        return mutation.entry, mutation.version

    def newer_than(self, key: ObjectKey, observed: int | None) -> Any | None:
        """The entry kept for ``key`` if it is newer than ``observed``, the newest version
        the informer has seen (None: none yet). Every object in the store is at most
        that old, so an entry past it is newer than the store's object; an entry that is
        not is dropped — the store holds that write, a later one, or the deletion."""
        kept = self.get(key)
        if kept is None:
            return None
        entry, version = kept
        if observed is not None and observed >= version:
            del self._entries[key]
            return None
        return entry

    def observed(self, version: int) -> None:
        """The informer has seen every change up to ``version``: drop what it holds now,
        and what has expired, from the oldest on."""
        now = self._clock.now()
        while self._entries:
            key, oldest = next(iter(self._entries.items()))
            if oldest.version > version and oldest.expires > now:
                return
            del self._entries[key]
