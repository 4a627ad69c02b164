"""The health score formula (docs/design/health-score.md)."""

from __future__ import annotations

import pytest

from kubeweft.views.health import HealthInputs, health_score


def score(desired: int, ready: int, conditions: dict[str, str], rate: float | None) -> int:
    return health_score(HealthInputs(desired, ready, conditions, rate))


@pytest.mark.parametrize(
    ("desired", "ready", "conditions", "rate", "expected"),
    [
        (3, 3, {"Ready": "True"}, None, 100),
        (3, 3, {"Ready": "True"}, 0.0, 100),
        (4, 2, {"Ready": "False"}, None, 45),  # 30 + 0 + 15
        (4, 2, {}, None, 58),  # 30 + 12.5 + 15 = 57.5 → 58 (half up)
        (2, 2, {"Ready": "True"}, 0.5, 93),  # 60 + 25 + 7.5 = 92.5 → 93
        (0, 0, {"Ready": "True"}, None, 100),  # scaled to zero on purpose is healthy
        (3, 5, {"Ready": "True"}, None, 100),  # surplus pods do not add points
        (3, 3, {"Ready": "True", "Degraded": "True"}, None, 50),
        (3, 0, {"Ready": "False", "Degraded": "True"}, 1.0, 0),
    ],
)
def test_formula(
    desired: int, ready: int, conditions: dict[str, str], rate: float | None, expected: int
) -> None:
    assert score(desired, ready, conditions, rate) == expected


def test_deterministic_and_bounded() -> None:
    inputs = HealthInputs(7, 3, {"Ready": "Unknown"}, 0.3)
    assert {health_score(inputs) for _ in range(10)} == {health_score(inputs)}
    assert 0 <= score(1, -5, {}, 7.0) <= 100
