"""Status conditions: set keeps the transition time unless the status flips."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kubeweft.api import Condition, ConditionStatus
from kubeweft.controllerutil import (
    find_status_condition,
    is_status_condition_true,
    remove_status_condition,
    set_status_condition,
)

T0 = datetime(2026, 5, 1, 12, 0, 0, 654321, tzinfo=UTC)
TRUE, FALSE = ConditionStatus.TRUE, ConditionStatus.FALSE


def cond(
    type_: str, status: ConditionStatus, *, at: datetime = T0, reason: str = "R", gen: int = 1
) -> Condition:
    return Condition(
        type=type_,
        status=status,
        reason=reason,
        message=f"{reason} message",
        observed_generation=gen,
        last_transition_time=at,
    )


def test_new_condition_is_appended_at_whole_seconds() -> None:
    conditions = [cond("Ready", FALSE)]
    assert set_status_condition(conditions, cond("Degraded", FALSE))
    assert [c.type for c in conditions] == ["Ready", "Degraded"]
    assert conditions[1].last_transition_time == T0.replace(microsecond=0)


def test_same_status_keeps_transition_time_but_takes_reason_message_generation() -> None:
    conditions: list[Condition] = []
    set_status_condition(conditions, cond("Ready", FALSE))
    later = T0 + timedelta(minutes=3)
    changed = set_status_condition(
        conditions, cond("Ready", FALSE, at=later, reason="Other", gen=2)
    )
    assert changed
    (ready,) = conditions
    assert (ready.reason, ready.message, ready.observed_generation) == ("Other", "Other message", 2)
    assert ready.last_transition_time == T0.replace(microsecond=0)


def test_identical_condition_is_no_change() -> None:
    conditions: list[Condition] = []
    set_status_condition(conditions, cond("Ready", TRUE))
    again = cond("Ready", TRUE, at=T0 + timedelta(hours=1))
    assert not set_status_condition(conditions, again)
    assert conditions[0].last_transition_time == T0.replace(microsecond=0)


def test_status_flip_moves_transition_time_and_keeps_position() -> None:
    conditions = [cond("Ready", FALSE), cond("Degraded", FALSE)]
    later = T0 + timedelta(minutes=1)
    assert set_status_condition(conditions, cond("Ready", TRUE, at=later))
    assert [c.type for c in conditions] == ["Ready", "Degraded"]
    assert conditions[0].status == TRUE
    assert conditions[0].last_transition_time == later.replace(microsecond=0)


def test_set_never_mutates_the_conditions_it_was_given() -> None:
    original = cond("Ready", FALSE)
    conditions = [original]
    set_status_condition(conditions, cond("Ready", TRUE, at=T0 + timedelta(minutes=1)))
    assert original.status == FALSE


def test_naive_times_are_taken_as_utc() -> None:
    conditions: list[Condition] = []
    set_status_condition(conditions, cond("Ready", TRUE, at=datetime(2026, 5, 1, 12, 0, 0, 5)))
    assert conditions[0].last_transition_time == datetime(2026, 5, 1, 12, tzinfo=UTC)


def test_find_remove_and_is_true() -> None:
    conditions = [cond("Ready", TRUE), cond("Degraded", FALSE)]
    assert find_status_condition(conditions, "Degraded") is conditions[1]
    assert find_status_condition(conditions, "Missing") is None
    assert is_status_condition_true(conditions, "Ready")
    assert not is_status_condition_true(conditions, "Degraded")
    assert not is_status_condition_true(conditions, "Missing")
    assert remove_status_condition(conditions, "Ready")
    assert not remove_status_condition(conditions, "Ready")
    assert [c.type for c in conditions] == ["Degraded"]
