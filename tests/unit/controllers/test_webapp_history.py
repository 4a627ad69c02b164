"""Which generations get a history record, decided from cluster state only."""

from __future__ import annotations

from kubeweft.api.v1alpha1 import WebApp
from kubeweft.controllers.webapp_history import (
    AppliedState,
    history_records_due,
    next_applied_state,
)
from tests.unit.controllers.builders import make_webapp


def observed(webapp: WebApp, generation: int) -> WebApp:
    webapp.status.observed_generation = generation
    return webapp


def test_annotations_round_trip() -> None:
    state = AppliedState(3, "nginx:2", 4, "nginx:1", 2, "alice")
    assert AppliedState.from_annotations(state.to_annotations()) == state
    first = AppliedState(1, "nginx:1", 2)
    assert AppliedState.from_annotations(first.to_annotations()) == first


def test_unreadable_annotations_are_no_state() -> None:
    assert AppliedState.from_annotations(None) is None
    assert AppliedState.from_annotations({"kubeweft.dev/generation": "x"}) is None
    assert AppliedState.from_annotations({"kubeweft.dev/generation": "1"}) is None


def test_creation_records_the_initial_generation_once() -> None:
    webapp = make_webapp(generation=1, replicas=3)
    after = next_applied_state(None, webapp, actor="alice")
    assert after == AppliedState(1, "nginx:1.27", 3, None, None, "alice")
    (record,) = history_records_due(webapp, None, after)
    assert (record.generation, record.image, record.replicas, record.actor) == (
        1,
        "nginx:1.27",
        3,
        "alice",
    )
    assert (record.previous_image, record.previous_replicas) == (None, None)
    assert (record.uid, record.namespace, record.name, record.kind) == (
        "uid-1",
        "default",
        "shop",
        "WebApp",
    )
    # Once status says generation 1 was observed, nothing more is due.
    assert history_records_due(observed(webapp, 1), after, after) == []


def test_new_generation_with_new_image_is_recorded_with_previous_values() -> None:
    before = AppliedState(1, "nginx:1.27", 3)
    webapp = observed(make_webapp(generation=2, replicas=3, image="nginx:1.28"), 1)
    after = next_applied_state(before, webapp, actor=None)
    assert after == AppliedState(2, "nginx:1.28", 3, "nginx:1.27", 3, None)
    (record,) = history_records_due(webapp, before, after)
    assert (record.generation, record.image, record.previous_image) == (
        2,
        "nginx:1.28",
        "nginx:1.27",
    )


def test_generation_that_changed_only_env_is_not_recorded() -> None:
    before = AppliedState(1, "nginx:1.27", 3)
    webapp = observed(make_webapp(generation=2, replicas=3, env=[{"name": "A"}]), 1)
    after = next_applied_state(before, webapp, actor="bob")
    assert history_records_due(webapp, before, after) == []


def test_drift_revert_in_the_same_generation_keeps_the_stamp() -> None:
    before = AppliedState(2, "nginx:1.28", 3, "nginx:1.27", 3, "alice")
    webapp = observed(make_webapp(generation=2, replicas=3, image="nginx:1.28"), 2)
    after = next_applied_state(before, webapp, actor=None)
    assert after == before
    assert history_records_due(webapp, before, after) == []


def test_crash_after_deployment_write_resubmits_from_annotations() -> None:
    # Generation 2 was applied to the Deployment but status still says 1: the record
    # may never have been submitted; the retry submits it again (the DB ignores a copy).
    before = AppliedState(2, "nginx:1.28", 3, "nginx:1.27", 3, "alice")
    webapp = observed(make_webapp(generation=2, replicas=3, image="nginx:1.28"), 1)
    after = next_applied_state(before, webapp, actor=None)
    records = history_records_due(webapp, before, after)
    assert [(r.generation, r.actor) for r in records] == [(2, "alice")]


def test_crash_then_a_newer_generation_records_both() -> None:
    # Generation 2 was applied, then the operator died before status; meanwhile the
    # user made generation 3. Generation 2's record comes from the annotations.
    before = AppliedState(2, "nginx:1.28", 3, "nginx:1.27", 3, "alice")
    webapp = observed(make_webapp(generation=3, replicas=3, image="nginx:1.29"), 1)
    after = next_applied_state(before, webapp, actor="bob")
    records = history_records_due(webapp, before, after)
    assert [(r.generation, r.image, r.previous_image, r.actor) for r in records] == [
        (2, "nginx:1.28", "nginx:1.27", "alice"),
        (3, "nginx:1.29", "nginx:1.28", "bob"),
    ]


def test_deployment_without_annotations_uses_its_pod_template_as_previous() -> None:
    webapp = observed(make_webapp(generation=4, replicas=2, image="nginx:1.28"), 3)
    after = next_applied_state(None, webapp, actor=None, live_image="nginx:1.28", live_replicas=2)
    assert after.previous_image == "nginx:1.28"
    assert history_records_due(webapp, None, after) == []
