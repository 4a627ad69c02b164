"""Change sampling: a value is a sample when it differs from the last one written, or
when the heartbeat is due; a refused sample is offered again."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from kubeweft.controllerutil.sampling import ChangeSampler

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def test_only_changed_values_pass_until_the_heartbeat() -> None:
    sampler = ChangeSampler(timedelta(minutes=4))
    first = sampler.samples("u", {"ready": 3.0, "desired": 3.0}, T0)
    assert sorted(s.name for s in first) == ["desired", "ready"]
    sampler.written(first)

    later = T0 + timedelta(minutes=1)
    assert [
        (s.name, s.value) for s in sampler.samples("u", {"ready": 2.0, "desired": 3.0}, later)
    ] == [("ready", 2.0)]
    assert sampler.samples("u", {"desired": 3.0}, T0 + timedelta(minutes=3, seconds=59)) == []
    assert [s.name for s in sampler.samples("u", {"desired": 3.0}, T0 + timedelta(minutes=4))] == [
        "desired"
    ]


def test_a_refused_sample_is_offered_again() -> None:
    sampler = ChangeSampler()
    assert sampler.samples("u", {"ready": 1.0}, T0)  # not marked written
    assert sampler.samples("u", {"ready": 1.0}, T0 + timedelta(seconds=1))


def test_nan_equals_nan_and_objects_are_apart() -> None:
    sampler = ChangeSampler()
    sampler.written(sampler.samples("u", {"lag": math.nan}, T0))
    assert sampler.samples("u", {"lag": math.nan}, T0 + timedelta(seconds=1)) == []
    assert sampler.samples("v", {"lag": math.nan}, T0 + timedelta(seconds=1))
    sampler.forget("u")
    assert sampler.samples("u", {"lag": math.nan}, T0 + timedelta(seconds=2))


def test_the_heartbeat_must_be_positive() -> None:
    with pytest.raises(ValueError, match="heartbeat"):
        ChangeSampler(timedelta(0))
