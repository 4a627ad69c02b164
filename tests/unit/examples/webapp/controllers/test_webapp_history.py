"""The applied state a WebApp's Deployment carries, decided from cluster state only.

(The history rows themselves are the framework's: ``tests/unit/controllerutil``.)"""

from __future__ import annotations

from kubeweft.examples.webapp.api.v1 import WebApp
from kubeweft.examples.webapp.controllers.webapp_history import AppliedState, next_applied_state
from tests.unit.examples.webapp.controllers.builders import make_webapp


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


def test_creation_is_the_initial_state() -> None:
    webapp = make_webapp(generation=1, replicas=3)
    after = next_applied_state(None, webapp, actor="alice")
    assert after == AppliedState(1, "nginx:1.27", 3, None, None, "alice")
    assert after.changed_image_or_replicas


def test_new_generation_with_new_image_keeps_the_previous_values() -> None:
    before = AppliedState(1, "nginx:1.27", 3)
    webapp = observed(make_webapp(generation=2, replicas=3, image="nginx:1.28"), 1)
    after = next_applied_state(before, webapp, actor=None)
    assert after == AppliedState(2, "nginx:1.28", 3, "nginx:1.27", 3, None)


def test_generation_that_changed_only_env_changes_neither_image_nor_replicas() -> None:
    before = AppliedState(1, "nginx:1.27", 3)
    webapp = observed(make_webapp(generation=2, replicas=3, env=[{"name": "A"}]), 1)
    after = next_applied_state(before, webapp, actor="bob")
    assert after.generation == 2
    assert not after.changed_image_or_replicas


def test_drift_revert_in_the_same_generation_keeps_the_stamp() -> None:
    before = AppliedState(2, "nginx:1.28", 3, "nginx:1.27", 3, "alice")
    webapp = observed(make_webapp(generation=2, replicas=3, image="nginx:1.28"), 2)
    after = next_applied_state(before, webapp, actor=None)
    assert after == before


def test_deployment_without_annotations_uses_its_pod_template_as_previous() -> None:
    webapp = observed(make_webapp(generation=4, replicas=2, image="nginx:1.28"), 3)
    after = next_applied_state(None, webapp, actor=None, live_image="nginx:1.28", live_replicas=2)
    assert after.previous_image == "nginx:1.28"
    assert not after.changed_image_or_replicas
