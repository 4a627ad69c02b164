"""``kubeweft.App``: what registering models and controllers accepts, refuses and builds,
and how ``kubeweft run APP`` loads one."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import ConfigMap, Service
from pydantic import Field

import kubeweft
from kubeweft.api import CustomResource, ModelInfo
from kubeweft.api.model import ResourceModel
from kubeweft.app import Process, _probe_checks, load_app
from kubeweft.controllerutil.reconcile_log import LoggedReconciler
from kubeweft.db.engine import Database
from kubeweft.examples.webapp.api.v1 import WebApp
from kubeweft.runtime.controller import Controller
from kubeweft.runtime.reconcile import Request, Result
from kubeweft.settings import Settings
from kubeweft.startup import EXIT_CONFIG, StartupError
from tests.support.fake_client import FakeClient

pytestmark = pytest.mark.anyio


class GadgetSpec(ResourceModel):
    colour: str = "red"


class Gadget(CustomResource):
    model_info = ModelInfo(group="test.kubeweft.dev", version="v1", kind="Gadget", plural="gadgets")
    spec: GadgetSpec = Field(default_factory=GadgetSpec)


class OtherGadget(CustomResource):
    """A second class for the same CRD (gadgets.test.kubeweft.dev)."""

    model_info = ModelInfo(group="test.kubeweft.dev", version="v1", kind="Gadget", plural="gadgets")
    spec: GadgetSpec = Field(default_factory=GadgetSpec)


class GadgetReconciler:
    def __init__(self, context: kubeweft.ControllerContext) -> None:
        self.context = context

    async def reconcile(self, request: Request) -> Result:
        return Result()


def test_models_are_kept_in_registration_order() -> None:
    app = kubeweft.App("shop")
    assert app.add_model(Gadget) is Gadget
    app.add_model(WebApp)
    assert app.models == (Gadget, WebApp)
    assert repr(app) == "App('shop', models=[Gadget, WebApp])"


def test_a_model_is_added_once() -> None:
    app = kubeweft.App("shop")
    app.add_model(Gadget)
    with pytest.raises(ValueError, match=r"already has the model .*Gadget for the CRD gadgets"):
        app.add_model(Gadget)
    with pytest.raises(ValueError, match=r"gadgets\.test\.kubeweft\.dev"):
        app.add_model(OtherGadget)  # another class, the same CRD
    assert app.models == (Gadget,)


@pytest.mark.parametrize("plural", ["watch", "assets", "sign-in", "sign-out"])
def test_a_plural_that_is_a_reserved_path_segment_is_refused(plural: str) -> None:
    """``/api/watch/…`` are the streams and ``/ui/assets``, ``/ui/sign-in`` and
    ``/ui/sign-out`` the dashboard's own paths: a model there would shadow or be shadowed."""

    class Reserved(CustomResource):
        model_info = ModelInfo(group="test.kubeweft.dev", version="v1", kind="R", plural=plural)
        spec: GadgetSpec = Field(default_factory=GadgetSpec)

    app = kubeweft.App("shop")
    with pytest.raises(ValueError, match=f"plural '{plural}' is a reserved path segment"):
        app.add_model(Reserved)
    assert app.models == ()


def test_owned_kinds_are_the_declared_and_the_controllers() -> None:
    app = kubeweft.App("shop")
    app.add_model(WebApp)
    app.add_controller(WebApp, GadgetReconciler, owns=[ConfigMap, Deployment])
    assert app.owned_kinds(WebApp) == (Deployment, Service, ConfigMap)


def test_only_custom_resources_are_models() -> None:
    with pytest.raises(TypeError, match="CustomResource subclass"):
        kubeweft.App("shop").add_model(GadgetSpec)  # type: ignore[arg-type]


def test_a_controller_needs_its_model_added_first() -> None:
    app = kubeweft.App("shop")
    with pytest.raises(ValueError, match=r"call add_model\(Gadget\) first"):
        app.add_controller(Gadget, GadgetReconciler)


def test_controller_names_are_unique() -> None:
    app = kubeweft.App("shop")
    app.add_model(Gadget)
    app.add_controller(Gadget, GadgetReconciler)
    with pytest.raises(ValueError, match="already has a controller named 'gadget'"):
        app.add_controller(Gadget, GadgetReconciler)
    app.add_controller(Gadget, GadgetReconciler, name="gadget-audit")
    assert app.controller_names == ("gadget", "gadget-audit")


async def test_the_process_builds_the_apps_controllers(tmp_path: Path) -> None:
    app = kubeweft.App("shop")
    app.add_model(Gadget)
    app.add_controller(Gadget, GadgetReconciler)
    settings = Settings(enable_api=False, state_dir=tmp_path, reconcile_timeout_seconds=9.0)
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'kubeweft.db'}")
    process = Process(app, settings, database, FakeClient())  # type: ignore[arg-type]
    (controller,) = [r for r in process.manager._leader_runnables if isinstance(r, Controller)]
    assert controller.name == "gadget"
    assert controller.options.reconcile_timeout == 9.0
    # The framework writes the reconcile log around the App's reconciler.
    logged = controller.reconciler
    assert isinstance(logged, LoggedReconciler)
    assert (logged.model, logged.records) == (Gadget, process.writer)
    reconciler = logged.inner
    assert isinstance(reconciler, GadgetReconciler)
    context = reconciler.context
    assert context.client is process.client
    assert context.cache is process.cache
    assert context.records is process.writer
    assert context.events.component == "shop-gadget-controller"
    # The informer is registered for the model (the API reads it without a controller).
    assert process.cache.informer_for(Gadget).options.namespace is None


async def test_readiness_lists_every_model(tmp_path: Path) -> None:
    app = kubeweft.App("shop")
    app.add_model(WebApp)
    app.add_model(Gadget)
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'kubeweft.db'}")
    client = FakeClient()
    listed: list[type[object]] = []
    real_list = client.list

    async def recording_list(kind: type[object], *args: object, **kwargs: object) -> object:
        listed.append(kind)
        return await real_list(kind, *args, **kwargs)  # type: ignore[arg-type]

    client.list = recording_list  # type: ignore[method-assign,assignment]
    _, readiness = _probe_checks(client, database, None, app.models)  # type: ignore[arg-type]
    (kubernetes,) = [check for check in readiness if check.name == "kubernetes"]
    await kubernetes.probe()
    assert listed == [WebApp, Gadget]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A directory holding ``shop/app.py`` as the current directory."""
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "__init__.py").write_text("")
    (tmp_path / "shop" / "app.py").write_text(
        "import kubeweft\n"
        "from kubeweft.examples.webapp.api.v1 import WebApp\n"
        "app = kubeweft.App('shop')\n"
        "app.add_model(WebApp)\n"
        "empty = kubeweft.App('empty')\n"
        "name = 'not an app'\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield tmp_path
    for module in ("shop.app", "shop"):
        sys.modules.pop(module, None)


def test_load_app_finds_the_app_in_the_current_directory(project: Path) -> None:
    app = load_app("shop.app:app")
    assert app.name == "shop"
    assert app.models == (WebApp,)
    assert sys.path[0] == os.getcwd()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("shop.app", 'cannot load the application shop.app: .* not of the form "module:attr'),
        ("shop.missing:app", 'cannot load the application .*module "shop.missing" not found'),
        ("shop.app:nope", 'module "shop.app" has no attribute "nope"'),
        ("shop.app:name", "shop.app:name is a str, not a kubeweft.App"),
        ("shop.app:empty", "the application shop.app:empty has no model"),
    ],
)
def test_a_bad_app_is_a_configuration_error(project: Path, spec: str, message: str) -> None:
    with pytest.raises(StartupError, match=message) as caught:
        load_app(spec)
    assert caught.value.exit_code == EXIT_CONFIG
