"""The last-changed-by annotation: read back only when it is ours and matches the spec."""

from __future__ import annotations

import json

import pytest

from kubeweft.api.changes import (
    CHANGED_BY_ANNOTATION,
    Change,
    change_of,
    changed_by,
    changed_by_value,
)

SPEC = {"image": "nginx:1", "replicas": 2}


def test_a_stamp_names_the_user_while_the_spec_is_unchanged() -> None:
    annotations = {CHANGED_BY_ANNOTATION: changed_by_value("alice", SPEC)}
    assert changed_by(annotations, SPEC) == "alice"
    assert changed_by(annotations, {**SPEC, "replicas": 3}) is None


def test_a_rollback_stamp_names_the_user_and_the_generation_it_went_back_to() -> None:
    annotations = {CHANGED_BY_ANNOTATION: changed_by_value("alice", SPEC, rolled_back_to=2)}
    assert change_of(annotations, SPEC) == Change("alice", rolled_back_to=2)
    assert changed_by(annotations, SPEC) == "alice"
    plain = {CHANGED_BY_ANNOTATION: changed_by_value("bob", SPEC)}
    assert change_of(plain, SPEC) == Change("bob", rolled_back_to=None)


@pytest.mark.parametrize("target", [0, -1, True, "2", 2.5])
def test_a_rollback_target_that_is_no_generation_is_left_out(target: object) -> None:
    stamp = changed_by_value("alice", SPEC)[:-1] + f',"rolledBackTo":{json.dumps(target)}}}'
    assert change_of({CHANGED_BY_ANNOTATION: stamp}, SPEC) == Change("alice", None)


@pytest.mark.parametrize(
    "value",
    ["", "not json", "[1]", '{"user": 1}', "[" * 100_000, '{"a":' * 100_000],
    ids=["empty", "text", "list", "bad user", "nested arrays", "nested objects"],
)
def test_a_hand_edited_annotation_is_no_answer(value: str) -> None:
    assert changed_by({CHANGED_BY_ANNOTATION: value}, SPEC) is None
