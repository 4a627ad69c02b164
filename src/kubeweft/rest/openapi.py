"""``python -m kubeweft.rest.openapi [APP]``: print the OpenAPI document of an application.

``APP`` names a ``kubeweft.App`` as ``module:attribute`` (``shop.app:app``), as
``kubeweft run`` takes it; without it the shipped example is exported. That
output is checked in as ``docs/openapi.json`` (clients are generated from it); a test
fails when the file drifts from the code.

The application is found by name at run time, not imported: ``rest`` sits below the
application layer and reads only the ``models`` an App declares.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from kubeweft import _importing
from kubeweft.api.model import CustomResource
from kubeweft.rest.app import openapi_document
from kubeweft.views.detail_fields import DetailFields

__all__ = [
    "SHIPPED_APP",
    "NotAnAppError",
    "app_document",
    "load_fields",
    "load_models",
    "main",
    "render",
    "shipped_document",
]

SHIPPED_APP = "kubeweft.examples.webapp:app"


class NotAnAppError(Exception):
    """The object ``module:attribute`` names does not declare models as an App does."""


def app_document(spec: str) -> dict[str, Any]:
    """The OpenAPI document of the application ``spec`` (``module:attribute``) names."""
    return openapi_document(load_models(spec), load_fields(spec))


def load_models(spec: str) -> Sequence[type[CustomResource]]:
    """The models of the application ``spec`` names, in the order it added them."""
    found = _importing.import_from_string(spec)
    models = getattr(found, "models", None)
    if not isinstance(models, tuple) or not models:
        raise NotAnAppError(f"{spec} is not a kubeweft.App with models")
    for model in models:
        if not (isinstance(model, type) and issubclass(model, CustomResource)):
            raise NotAnAppError(f"{spec} declares {model!r}, which is not a CustomResource")
    return models


def load_fields(spec: str) -> Sequence[DetailFields]:
    """The project's own detail fields the application ``spec`` names declares."""
    found = _importing.import_from_string(spec)
    declared = getattr(found, "detail_fields", ())
    return tuple(d for d in declared if isinstance(d, DetailFields))


def shipped_document() -> dict[str, Any]:
    return app_document(SHIPPED_APP)


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def main(argv: Sequence[str]) -> int:
    if len(argv) > 1:
        sys.stderr.write("usage: python -m kubeweft.rest.openapi [module:attribute]\n")
        return 2
    spec = argv[0] if argv else SHIPPED_APP
    try:
        models = load_models(spec)
    except (_importing.ImportFromStringError, NotAnAppError) as error:
        sys.stderr.write(f"error: {error}\n")
        return 2
    sys.stdout.write(render(openapi_document(models, load_fields(spec))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
