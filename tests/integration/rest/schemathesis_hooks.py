"""Loaded into the Schemathesis process (``SCHEMATHESIS_HOOKS``) before it generates.

CPython 3.11.7 can raise ``SystemError: AST constructor recursion depth mismatch`` from
``ast.parse`` deep in a call stack. Hypothesis calls ``ast.parse`` only to describe a
filter's lambda in a strategy's repr, and Schemathesis's coverage phase adds such
filters deep in its schema walk, so the phase died on it. A description is cosmetic: on
that error, use Hypothesis's own placeholder instead.
"""

from __future__ import annotations

from typing import Any

from hypothesis.internal import lambda_sources

_describe = lambda_sources.lambda_description


def _lambda_description(f: Any) -> str:
    try:
        return str(_describe(f))
    except SystemError:
        return "lambda: <unknown>"


lambda_sources.lambda_description = _lambda_description
