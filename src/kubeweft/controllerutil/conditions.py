"""Status conditions in the API conventions' shape (``k8s.io/apimachinery/pkg/api/meta``).

A condition's ``lastTransitionTime`` says when its *status* last flipped, so setting a
condition whose status is unchanged keeps the stored time even if its reason, message
or observedGeneration move. That is also what lets a reconciler skip the status write:
recomputed from an unchanged world, the conditions come out equal to the stored ones.
Times are kept at whole seconds in UTC, as ``metav1.Time`` is stored, so a condition
read back from the API server compares equal to the one written.
"""

from __future__ import annotations

from datetime import UTC

from kubeweft.api import Condition, ConditionStatus

__all__ = [
    "find_status_condition",
    "is_status_condition_true",
    "remove_status_condition",
    "set_status_condition",
]


def set_status_condition(conditions: list[Condition], condition: Condition) -> bool:
    """Set ``condition`` in ``conditions`` by its type; True if anything changed.

    ``condition.last_transition_time`` is used only when the condition is new or its
    status flips; otherwise the stored time stays. The others keep their order.
    """
    index = next((i for i, c in enumerate(conditions) if c.type == condition.type), None)
    if index is None:
        conditions.append(_at_seconds(condition))
        return True
    existing = conditions[index]
    if existing.status != condition.status:
        updated = _at_seconds(condition)
    else:
        updated = condition.model_copy(
            update={"last_transition_time": existing.last_transition_time}
        )
    conditions[index] = updated
    return updated != existing


def find_status_condition(conditions: list[Condition], type_: str) -> Condition | None:
    """The condition of ``type_``, or None."""
    return next((c for c in conditions if c.type == type_), None)


def remove_status_condition(conditions: list[Condition], type_: str) -> bool:
    """Remove the condition of ``type_``; True if there was one."""
    kept = [c for c in conditions if c.type != type_]
    removed = len(kept) != len(conditions)
    conditions[:] = kept
    return removed


def is_status_condition_true(conditions: list[Condition], type_: str) -> bool:
    """True if the condition of ``type_`` is present with status True."""
    found = find_status_condition(conditions, type_)
    return found is not None and found.status == ConditionStatus.TRUE


def _at_seconds(condition: Condition) -> Condition:
    moment = condition.last_transition_time
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC).replace(microsecond=0)
    return condition.model_copy(update={"last_transition_time": moment})
