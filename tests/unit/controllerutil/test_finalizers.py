"""Finalizer helpers on both object families."""

from __future__ import annotations

from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ConfigMap

from kubeweft.controllerutil import add_finalizer, contains_finalizer, remove_finalizer
from kubeweft.examples.webapp.api.v1 import WebApp

F = "kubeweft.dev/cleanup"


def test_add_is_idempotent_and_keeps_others() -> None:
    cm = ConfigMap(metadata=ObjectMeta(name="a", finalizers=["other"]))
    assert add_finalizer(cm, F)
    assert not add_finalizer(cm, F)
    assert cm.metadata.finalizers == ["other", F]
    assert contains_finalizer(cm, F)


def test_remove_reports_whether_it_was_there() -> None:
    app = WebApp.model_validate({"metadata": {"name": "a"}, "spec": {"image": "x"}})
    assert not contains_finalizer(app, F)
    assert not remove_finalizer(app, F)
    add_finalizer(app, F)
    assert app.to_dict()["metadata"]["finalizers"] == [F]
    assert remove_finalizer(app, F)
    assert not contains_finalizer(app, F)
    assert "finalizers" not in app.to_dict()["metadata"]
