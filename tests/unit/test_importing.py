"""``module:attribute`` strings from the command line: the project in the current
directory imports without ``PYTHONPATH=.``, and each failure says which part is wrong."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from kubeweft import _importing
from kubeweft.codegen.cli import manifests_command

GREETER_TYPES = '''
from pydantic import Field

from kubeweft.api import CustomResource, ModelInfo
from kubeweft.api.model import ResourceModel


class GreeterSpec(ResourceModel):
    message: str = Field(min_length=1)


class Greeter(CustomResource):
    """A user's own model, in a package that is not installed."""

    model_info = ModelInfo(
        group="greeter.example.dev", version="v1alpha1", kind="Greeter", plural="greeters"
    )

    spec: GreeterSpec


factory = type("Factory", (), {"model": Greeter})
'''


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A project directory holding the package ``greeter``, as the current directory."""
    package = tmp_path / "greeter" / "api"
    package.mkdir(parents=True)
    (tmp_path / "greeter" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "v1alpha1.py").write_text(GREETER_TYPES)
    (package / "broken.py").write_text("import greeter_dependency_not_installed\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", ".", str(tmp_path))])
    yield tmp_path
    for name in [name for name in sys.modules if name.split(".")[0] == "greeter"]:
        del sys.modules[name]


def test_a_package_in_the_current_directory_imports(project: Path) -> None:
    greeter = _importing.import_from_string("greeter.api.v1alpha1:Greeter")

    assert isinstance(greeter, type)
    assert greeter.__name__ == "Greeter"
    assert sys.path[0] == str(project)


def test_a_dotted_attribute_is_followed(project: Path) -> None:
    greeter = _importing.import_from_string("greeter.api.v1alpha1:Greeter")
    assert _importing.import_from_string("greeter.api.v1alpha1:factory.model") is greeter


@pytest.mark.parametrize("spec", ["greeter.api.v1alpha1", ":Greeter", "greeter.api:a:b"])
def test_a_string_without_module_and_attribute_is_refused(project: Path, spec: str) -> None:
    with pytest.raises(_importing.ImportFromStringError, match='form "module:attribute"'):
        _importing.import_from_string(spec)


@pytest.mark.parametrize(
    ("spec", "missing"),
    [("shop.app:app", '"shop"'), ("greeter.api.v1:Greeter", '"greeter.api.v1"')],
)
def test_a_missing_module_is_named(project: Path, spec: str, missing: str) -> None:
    module = spec.partition(":")[0]
    with pytest.raises(_importing.ImportFromStringError) as raised:
        _importing.import_from_string(spec)
    assert f'module "{module}" not found' in str(raised.value)
    assert f"no module named {missing} in {project}" in str(raised.value)


def test_a_missing_attribute_is_named(project: Path) -> None:
    with pytest.raises(_importing.ImportFromStringError, match='has no attribute "Greeterr"'):
        _importing.import_from_string("greeter.api.v1alpha1:Greeterr")


def test_a_missing_dependency_of_the_module_keeps_its_own_error(project: Path) -> None:
    with pytest.raises(ModuleNotFoundError) as raised:
        _importing.import_from_string("greeter.api.broken:anything")
    assert raised.value.name == "greeter_dependency_not_installed"


def test_manifests_generates_a_model_of_the_current_directory(project: Path) -> None:
    app = typer.Typer()
    app.command()(manifests_command)

    result = CliRunner().invoke(
        app, ["--output", "config", "--model", "greeter.api.v1alpha1:Greeter"]
    )

    assert result.exit_code == 0, result.output
    crd = project / "config" / "crd" / "bases" / "greeter.example.dev_greeters.yaml"
    assert "kind: Greeter" in crd.read_text()


def test_manifests_names_the_missing_module(project: Path) -> None:
    app = typer.Typer()
    app.command()(manifests_command)

    result = CliRunner().invoke(app, ["--output", "config", "--model", "shop.models:Store"])

    assert result.exit_code == 2
    assert 'module "shop.models" not found' in result.output
