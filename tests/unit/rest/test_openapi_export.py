"""``python -m kubeweft.rest.openapi [APP]`` exports the OpenAPI of the application named."""

from __future__ import annotations

import json

import pytest
from pydantic import Field

from kubeweft import App
from kubeweft.api import CustomResource, ModelInfo, ResourceModel
from kubeweft.rest import openapi


class LampSpec(ResourceModel):
    watts: int = Field(ge=1)


class Lamp(CustomResource):
    model_info = ModelInfo(group="test.kubeweft.dev", version="v1", kind="Lamp", plural="lamps")
    spec: LampSpec


app = App("lamps")
app.add_model(Lamp)


def test_exports_the_models_of_the_app_named(capsys: pytest.CaptureFixture[str]) -> None:
    assert openapi.main([f"{__name__}:app"]) == 0
    paths = json.loads(capsys.readouterr().out)["paths"]
    assert "/api/lamps/{namespace}/{name}" in paths
    assert not any(path.startswith("/api/webapps") for path in paths)


def test_without_an_argument_exports_the_shipped_example(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert openapi.main([]) == 0
    assert capsys.readouterr().out == openapi.render(openapi.shipped_document())
    assert "/api/webapps/{namespace}/{name}" in openapi.shipped_document()["paths"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no_such_module_here:app", 'module "no_such_module_here" not found'),
        (f"{__name__}:Lamp", "is not a kubeweft.App with models"),
        ("lamps", "is not of the form"),
    ],
)
def test_a_bad_app_is_one_line_and_exit_2(
    spec: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert openapi.main([spec]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in captured.err
    assert captured.err.count("\n") == 1
