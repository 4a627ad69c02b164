"""Sinks for the reconciler's Events and records, for its unit tests.

The cluster side is ``tests.support.fake_client.FakeClient``; integration tests use
the real local control plane instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from kubeweft.db.records import Record

T = TypeVar("T")


@dataclass
class Recorded:
    """Collects Events and records."""

    events: list[tuple[str, str, str]] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)

    def event(self, obj: Any, type: str, reason: str, message: str) -> None:
        self.events.append((type, reason, message))

    def submit(self, record: Record) -> None:
        self.records.append(record)
