"""docs/openapi.json is what the code serves."""

from __future__ import annotations

import json
from pathlib import Path

from kubeweft.rest.openapi import render, shipped_document

DOC = Path(__file__).parents[3] / "docs" / "openapi.json"


def test_checked_in_openapi_is_current() -> None:
    expected = render(shipped_document())
    assert DOC.read_text() == expected, (
        "docs/openapi.json is stale: run `.venv/bin/python -m kubeweft.rest.openapi "
        "> docs/openapi.json`"
    )


def test_every_operation_documents_problem_responses() -> None:
    document = json.loads(DOC.read_text())
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            for code in ("401", "403", "422", "500"):
                assert code in responses, f"{method.upper()} {path} lacks {code}"
                assert "application/problem+json" in responses[code]["content"]
