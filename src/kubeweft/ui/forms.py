"""Create and edit forms generated from a model's spec class.

Each top-level spec field becomes one labelled control: a number input for integers
and numbers, a yes/no choice for booleans, a text input for strings, and a JSON text
area for anything structured (lists, nested objects) — the same names the API uses, so
a field error the API returns (``spec.image``) lands next to its control. The form is
sent to the REST API by the page's script; validation is the API's, not a copy of it.
"""

from __future__ import annotations

import json
import types
from dataclasses import dataclass
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

__all__ = ["FormField", "spec_form"]

_KINDS = {int: "integer", float: "number", bool: "boolean", str: "string"}


@dataclass(frozen=True)
class FormField:
    path: str  # "spec.<wire name>"
    label: str
    kind: str  # integer, number, boolean, string, json
    description: str
    required: bool
    value: str  # what the control shows


def _kind(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        kinds = {_kind(arg) for arg in get_args(annotation) if arg is not type(None)}
        return kinds.pop() if len(kinds) == 1 else "json"
    if origin is not None and str(origin).endswith("Annotated"):
        return _kind(get_args(annotation)[0])
    for base, kind in _KINDS.items():
        if annotation is base:
            return kind
    if isinstance(annotation, type) and issubclass(annotation, bool):
        return "boolean"
    if isinstance(annotation, type) and issubclass(annotation, int):
        return "integer"
    if isinstance(annotation, type) and issubclass(annotation, str):
        return "string"
    return "json"


def _shown(kind: str, value: Any) -> str:
    if value is None:
        return ""
    if kind == "json":
        return json.dumps(value, indent=2)
    if kind == "boolean":
        return "true" if value else "false"
    return str(value)


def spec_form(spec_type: type[BaseModel], current: dict[str, Any] | None) -> list[FormField]:
    """The controls for ``spec_type``, filled with ``current`` (wire form) or the defaults."""
    fields = []
    for name, info in spec_type.model_fields.items():
        wire = info.alias or name
        kind = _kind(info.annotation)
        if current is not None:
            value = current.get(wire)
        elif info.default is not PydanticUndefined:
            value = info.default
        elif info.default_factory is not None:
            value = info.default_factory()  # type: ignore[call-arg]
        else:
            value = None
        if isinstance(value, BaseModel):
            value = value.model_dump(mode="json", by_alias=True, exclude_none=True)
        elif isinstance(value, list):  # a default list of models (a spec's ports)
            value = [
                v.model_dump(mode="json", by_alias=True, exclude_none=True)
                if isinstance(v, BaseModel)
                else v
                for v in value
            ]
        fields.append(
            FormField(
                path=f"spec.{wire}",
                label=wire,
                kind=kind,
                description=info.description or "",
                required=info.is_required(),
                value=_shown(kind, value),
            )
        )
    return fields
