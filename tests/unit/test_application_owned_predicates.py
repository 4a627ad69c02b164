"""``App.add_controller(owned_predicates=...)``: an owned kind's events reach the owner
only through the predicates given for that kind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import ConfigMap
from pydantic import Field

import kubeweft
from kubeweft.api import CustomResource, ModelInfo
from kubeweft.api.model import ResourceModel
from kubeweft.app import Process
from kubeweft.db.engine import Database
from kubeweft.runtime import predicate
from kubeweft.runtime.controller import Controller
from kubeweft.runtime.reconcile import Request, Result
from kubeweft.runtime.source import Kind
from kubeweft.settings import Settings
from tests.support.fake_client import FakeClient

pytestmark = pytest.mark.anyio


class WidgetSpec(ResourceModel):
    size: int = 1


class Widget(CustomResource):
    model_info = ModelInfo(
        group="test.kubeweft.dev",
        version="v1",
        kind="Widget",
        plural="widgets",
        owns=(("apps/v1", "deployments"),),
    )
    spec: WidgetSpec = Field(default_factory=WidgetSpec)


class WidgetReconciler:
    def __init__(self, context: kubeweft.ControllerContext) -> None:
        self.context = context

    async def reconcile(self, request: Request) -> Result:
        return Result()


def _sources(app: kubeweft.App, tmp_path: Path) -> dict[type[Any], Kind]:
    settings = Settings(enable_api=False, state_dir=tmp_path)
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'kubeweft.db'}")
    process = Process(app, settings, database, FakeClient())  # type: ignore[arg-type]
    (controller,) = [r for r in process.manager._leader_runnables if isinstance(r, Controller)]
    return {source.kind: source for source in controller._sources if isinstance(source, Kind)}


async def test_owned_predicates_filter_a_declared_and_an_extra_owned_kind(tmp_path: Path) -> None:
    status_reads = predicate.Changed(lambda deployment: deployment.status)
    labels = predicate.LabelChanged()
    app = kubeweft.App("shop")
    app.add_model(Widget)
    app.add_controller(
        Widget,
        WidgetReconciler,
        owns=[ConfigMap],
        owned_predicates={Deployment: [status_reads], ConfigMap: [labels]},
    )
    sources = _sources(app, tmp_path)
    assert sources[Deployment].predicates == (status_reads,)  # declared in ModelInfo.owns
    assert sources[ConfigMap].predicates == (labels,)
    assert sources[Deployment].owned
    assert sources[ConfigMap].owned
    assert len(sources) == 3  # Widget, Deployment, ConfigMap: each watched once


async def test_owned_kinds_without_predicates_pass_every_event(tmp_path: Path) -> None:
    app = kubeweft.App("shop")
    app.add_model(Widget)
    app.add_controller(Widget, WidgetReconciler, owns=[ConfigMap])
    sources = _sources(app, tmp_path)
    assert sources[Deployment].predicates == ()
    assert sources[ConfigMap].predicates == ()
