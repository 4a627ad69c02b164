"""``python -m kubeweft.rest.openapi``: print the OpenAPI document of the shipped models.

The output is checked in as ``docs/openapi.json`` (clients are generated from it); a
test fails when the file drifts from the code.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from kubeweft.api.v1alpha1 import WebApp
from kubeweft.rest.app import openapi_document

__all__ = ["render", "shipped_document"]


def shipped_document() -> dict[str, Any]:
    return openapi_document([WebApp])


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render(shipped_document()))
