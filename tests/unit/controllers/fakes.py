"""A small in-memory stand-in for the cache and client, for reconciler unit tests.

It keeps wire-form dicts, bumps resourceVersion on every write and ``generation`` on
spec changes, and answers 404/409 like the API server — enough to test the
reconciler's decisions. Integration tests use the real local control plane instead.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field
from typing import Any, TypeVar

from kubeweft.db.records import Record
from kubeweft.runtime import errors, objects

T = TypeVar("T")


class FakeCluster:
    """Implements the reconciler's ``ObjectReader`` and ``ObjectWriter``."""

    def __init__(self) -> None:
        self.store: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.writes: list[tuple[str, str, str]] = []  # (verb, kind, name)
        self.fail_next: dict[str, Exception] = {}  # verb -> error raised once
        self._rv = itertools.count(1000)
        self._uid = itertools.count(1)

    # --- ObjectReader ---------------------------------------------------------------
    async def get(self, kind: type[T], name: str, namespace: str | None = None) -> T:
        data = self.store.get((objects.kind_info(kind).kind, namespace or "", name))
        if data is None:
            raise errors.NotFound(404, "NotFound", f"{name} not found")
        return objects.from_dict(kind, copy.deepcopy(data))

    # --- ObjectWriter ---------------------------------------------------------------
    async def create(self, obj: T) -> T:
        data = self._take("create", obj)
        key = self._key(data)
        if key in self.store:
            raise errors.AlreadyExists(409, "AlreadyExists", "exists")
        meta = data["metadata"]
        meta.update(uid=f"uid-{next(self._uid)}", resourceVersion=str(next(self._rv)), generation=1)
        self.store[key] = data
        return objects.from_dict(type(obj), copy.deepcopy(data))

    async def update(self, obj: T) -> T:
        data = self._take("update", obj)
        stored = self._current(data)
        data.pop("status", None)
        if data.get("spec") != stored.get("spec"):
            data["metadata"]["generation"] = stored["metadata"].get("generation", 1) + 1
        else:
            data["metadata"]["generation"] = stored["metadata"].get("generation", 1)
        if "status" in stored:
            data["status"] = stored["status"]
        return self._store(type(obj), data)

    async def update_status(self, obj: T) -> T:
        data = self._take("update_status", obj)
        stored = copy.deepcopy(self._current(data))
        stored["status"] = data.get("status")
        return self._store(type(obj), stored)

    # --- test helpers ---------------------------------------------------------------
    def put(self, obj: Any) -> None:
        """Store ``obj`` as given (a test's arrangement; no write is counted)."""
        data = objects.to_dict(obj)
        data["metadata"].setdefault("resourceVersion", str(next(self._rv)))
        self.store[self._key(data)] = data

    def edit(self, kind: str, name: str, change: Any, namespace: str = "default") -> None:
        """Mutate a stored object in place (a hand edit or a controller's status)."""
        data = self.store[(kind, namespace, name)]
        change(data)
        data["metadata"]["resourceVersion"] = str(next(self._rv))

    def raw(self, kind: str, name: str, namespace: str = "default") -> dict[str, Any]:
        return self.store[(kind, namespace, name)]

    def _take(self, verb: str, obj: Any) -> dict[str, Any]:
        data = copy.deepcopy(objects.to_dict(obj))
        self.writes.append((verb, data["kind"], data["metadata"]["name"]))
        error = self.fail_next.pop(verb, None)
        if error is not None:
            raise error
        return data

    def _current(self, data: dict[str, Any]) -> dict[str, Any]:
        stored = self.store.get(self._key(data))
        if stored is None:
            raise errors.NotFound(404, "NotFound", "gone")
        if data["metadata"].get("resourceVersion") != stored["metadata"]["resourceVersion"]:
            raise errors.Conflict(409, "Conflict", "the object has been modified")
        return stored

    def _store(self, kind: type[T], data: dict[str, Any]) -> T:
        data["metadata"]["resourceVersion"] = str(next(self._rv))
        self.store[self._key(data)] = data
        return objects.from_dict(kind, copy.deepcopy(data))

    @staticmethod
    def _key(data: dict[str, Any]) -> tuple[str, str, str]:
        meta = data["metadata"]
        return (data["kind"], meta.get("namespace") or "", meta["name"])


@dataclass
class Recorded:
    """Collects Events and records."""

    events: list[tuple[str, str, str]] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)

    def event(self, obj: Any, type: str, reason: str, message: str) -> None:
        self.events.append((type, reason, message))

    def submit(self, record: Record) -> None:
        self.records.append(record)
