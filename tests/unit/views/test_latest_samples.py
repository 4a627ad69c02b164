"""A UID's latest samples are decoded once while its rows stay the same: the same
read-only mapping comes back for equal rows, a new one when a row changed."""

from __future__ import annotations

from datetime import UTC, datetime
from types import MappingProxyType

import pytest

from kubeweft.views import MetricPoint
from kubeweft.views.repository_source import LatestSamples

UID, OTHER = "6c4c5a5e-1111-4222-8333-944444444401", "6c4c5a5e-1111-4222-8333-944444444402"
TS = "2026-01-02 03:04:05.400000"  # SQLite's stored form of a UTC timestamp
WHEN = datetime(2026, 1, 2, 3, 4, 5, 400000, tzinfo=UTC)


def rows(value: float, uid: str = UID) -> tuple[tuple[str, str, float, str], ...]:
    return ((uid, "cpu", value, TS), (uid, "ready", 2.0, TS))


def test_equal_rows_give_the_same_read_only_mapping() -> None:
    kept = LatestSamples(capacity=10)
    first = kept.samples(UID, rows(0.5))
    assert first == {"cpu": MetricPoint(0.5, WHEN), "ready": MetricPoint(2.0, WHEN)}
    assert isinstance(first, MappingProxyType)
    with pytest.raises(TypeError):
        first["cpu"] = MetricPoint(1.0, WHEN)  # type: ignore[index]
    assert kept.samples(UID, rows(0.5)) is first  # equal rows, decoded again: no
    changed = kept.samples(UID, rows(0.75))
    assert changed is not first
    assert changed["cpu"] == MetricPoint(0.75, WHEN)
    assert kept.samples(UID, ()) == {}


def test_the_newest_uids_are_kept() -> None:
    kept = LatestSamples(capacity=1)
    first = kept.samples(UID, rows(0.5))
    kept.samples(OTHER, rows(0.5, OTHER))
    assert len(kept) == 1
    again = kept.samples(UID, rows(0.5))
    assert again == first
    assert again is not first
