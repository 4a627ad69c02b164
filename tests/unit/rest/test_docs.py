"""``/docs`` is served from the package: no URL outside the server, every asset there."""

from __future__ import annotations

import re

import pytest

from tests.unit.rest.conftest import Harness

pytestmark = pytest.mark.anyio

_REFERENCE = re.compile(r"""(?:src|href)=["']([^"']+)["']|url:\s*'([^']+)'""")


async def test_swagger_ui_references_only_this_server(harness: Harness) -> None:
    page = await harness.http.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert not re.search(r"(?:https?:)?//", page.text), "the page names another host"
    assert '"validatorUrl": null' in page.text
    references = [a or b for a, b in _REFERENCE.findall(page.text)]
    assert len(references) == 4  # stylesheet, icon, script, OpenAPI document

    expected_types = {
        ".css": "text/css",
        ".js": "text/javascript",
        ".png": "image/png",
        ".json": "application/json",
    }
    for reference in references:
        assert reference.startswith("/")
        asset = await harness.http.get(reference)
        assert asset.status_code == 200, reference
        suffix = reference[reference.rindex(".") :]
        assert asset.headers["content-type"].startswith(expected_types[suffix]), reference
        assert len(asset.content) > 0


async def test_the_script_is_swagger_ui(harness: Harness) -> None:
    script = await harness.http.get("/docs/assets/swagger-ui-bundle.js")
    assert script.content.startswith(b"/*! For license information please see swagger-ui")
    assert b"SwaggerUIBundle" in script.content


async def test_redoc_is_not_served(harness: Harness) -> None:
    assert (await harness.http.get("/redoc")).status_code == 404


async def test_assets_outside_the_folder_are_not_served(harness: Harness) -> None:
    response = await harness.http.get("/docs/assets/..%2F..%2Fapp.py")
    assert response.status_code == 404
