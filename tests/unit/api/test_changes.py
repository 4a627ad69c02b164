"""The last-changed-by annotation: read back only when it is ours and matches the spec."""

from __future__ import annotations

import pytest

from kubeweft.api.changes import CHANGED_BY_ANNOTATION, changed_by, changed_by_value

SPEC = {"image": "nginx:1", "replicas": 2}


def test_a_stamp_names_the_user_while_the_spec_is_unchanged() -> None:
    annotations = {CHANGED_BY_ANNOTATION: changed_by_value("alice", SPEC)}
    assert changed_by(annotations, SPEC) == "alice"
    assert changed_by(annotations, {**SPEC, "replicas": 3}) is None


@pytest.mark.parametrize(
    "value",
    ["", "not json", "[1]", '{"user": 1}', "[" * 100_000, '{"a":' * 100_000],
    ids=["empty", "text", "list", "bad user", "nested arrays", "nested objects"],
)
def test_a_hand_edited_annotation_is_no_answer(value: str) -> None:
    assert changed_by({CHANGED_BY_ANNOTATION: value}, SPEC) is None
