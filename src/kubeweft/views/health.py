"""The health score: one number, 0-100, for "is this app doing what was asked?".

The formula is in docs/design/health-score.md; it is deterministic (same inputs, same
score) and uses only what the detail view already has: desired and ready replicas
from the cluster, the Ready and Degraded conditions, and the recent reconcile error
rate from the database.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["HealthInputs", "health_score"]

REPLICA_WEIGHT = 60
READY_WEIGHT = 25
RECONCILE_WEIGHT = 15
DEGRADED_CAP = 50


@dataclass(frozen=True)
class HealthInputs:
    desired_replicas: int
    ready_replicas: int
    # Condition type → status ("True", "False", "Unknown"); absent means unknown.
    conditions: dict[str, str]
    # Failed / total reconcile attempts in the window; None when there were none.
    reconcile_error_rate: float | None

    @classmethod
    def from_parts(
        cls,
        desired_replicas: int,
        ready_replicas: int,
        conditions: Iterable[tuple[str, str]],
        reconcile_error_rate: float | None,
    ) -> HealthInputs:
        return cls(desired_replicas, ready_replicas, dict(conditions), reconcile_error_rate)


def health_score(inputs: HealthInputs) -> int:
    """``round(60·replicas + 25·ready + 15·(1 - error rate))``, capped at 50 when Degraded."""
    desired = max(inputs.desired_replicas, 0)
    ready = max(inputs.ready_replicas, 0)
    replica_part = 1.0 if desired == 0 else min(ready, desired) / desired

    ready_status = inputs.conditions.get("Ready")
    ready_part = {"True": 1.0, "False": 0.0}.get(ready_status or "", 0.5)

    rate = inputs.reconcile_error_rate
    reconcile_part = 1.0 if rate is None else 1.0 - min(max(rate, 0.0), 1.0)

    score = (
        REPLICA_WEIGHT * replica_part
        + READY_WEIGHT * ready_part
        + RECONCILE_WEIGHT * reconcile_part
    )
    if inputs.conditions.get("Degraded") == "True":
        score = min(score, DEGRADED_CAP)
    # Half-up rounding: Python's round() is banker's rounding, which would make
    # 62.5 → 62 but 63.5 → 64.
    return int(min(max(score, 0.0), 100.0) + 0.5)
