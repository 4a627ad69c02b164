"""Loaded into the Schemathesis process (``SCHEMATHESIS_HOOKS``) before it generates.

Two things the generator cannot know from JSON Schema alone:

* A list marked ``x-kubernetes-list-type: map`` (``env``) holds each key once: the API
  server refuses duplicates (422), but JSON Schema has no "unique by key". Bodies that
  repeat a key are not generated, so "valid data is accepted" keeps its meaning.
* CPython 3.11.7 can raise ``SystemError: AST constructor recursion depth mismatch``
  from ``ast.parse`` deep in a call stack. Hypothesis calls ``ast.parse`` only to
  describe a filter's lambda in a strategy's repr, and the coverage phase adds such
  filters deep in its schema walk, so the phase died on it. A description is
  cosmetic: on that error, Hypothesis's own placeholder is used.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import schemathesis
from hypothesis.internal import lambda_sources

_describe = lambda_sources.lambda_description


def _lambda_description(f: Any) -> str:
    try:
        return str(_describe(f))
    except SystemError:
        return "lambda: <unknown>"


lambda_sources.lambda_description = _lambda_description


def repeats_a_map_key(value: Any, schema: Any, root: Mapping[str, Any]) -> bool:
    """Whether ``value`` has a ``list-type: map`` list holding one key twice."""
    if not isinstance(schema, Mapping):
        return False
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, Mapping) else {}
        return repeats_a_map_key(value, target, root)
    for variant in (*schema.get("anyOf", ()), *schema.get("oneOf", ()), *schema.get("allOf", ())):
        if repeats_a_map_key(value, variant, root):
            return True
    if isinstance(value, list):
        if schema.get("x-kubernetes-list-type") == "map":
            keys = schema.get("x-kubernetes-list-map-keys", [])
            seen = [tuple(item.get(k) for k in keys) for item in value if isinstance(item, Mapping)]
            if len(seen) != len(set(map(repr, seen))):
                return True
        return any(repeats_a_map_key(item, schema.get("items"), root) for item in value)
    if isinstance(value, Mapping):
        properties = schema.get("properties", {})
        return any(
            repeats_a_map_key(item, properties.get(key), root) for key, item in value.items()
        )
    return False


@schemathesis.hook
def filter_case(context: Any, case: Any) -> bool:
    body = getattr(case, "body", None)
    if not isinstance(body, Mapping | list):
        return True
    content = case.operation.definition.raw.get("requestBody", {}).get("content", {})
    root = case.operation.schema.raw_schema
    return not any(repeats_a_map_key(body, media.get("schema"), root) for media in content.values())
