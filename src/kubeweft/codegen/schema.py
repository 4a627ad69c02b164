"""Pydantic JSON Schema → a *structural* OpenAPI v3 schema, as the API server demands.

A CRD's schema must be structural: every node names its ``type`` (or is one of the two
escape hatches, ``x-kubernetes-int-or-string`` / ``x-kubernetes-preserve-unknown-fields``),
there are no ``$ref``s, and ``anyOf``/``oneOf`` may not carry types. Pydantic emits
JSON Schema 2020-12 with ``$defs``, ``anyOf [X, null]`` for ``Optional`` and numeric
``exclusiveMinimum``; this module rewrites that dialect node by node. Anything it
cannot express faithfully (recursive models, unions of unrelated types, tuples) raises
:class:`SchemaError` naming the path, instead of silently weakening validation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Formats the API server's validator understands; others would be ignored with a warning.
KUBERNETES_FORMATS = frozenset(
    {
        "bsonobjectid", "uri", "email", "hostname", "ipv4", "ipv6", "cidr", "mac", "uuid",
        "uuid3", "uuid4", "uuid5", "isbn", "isbn10", "isbn13", "creditcard", "ssn",
        "hexcolor", "rgbcolor", "byte", "password", "date", "duration", "datetime",
        "date-time", "int32", "int64", "float", "double",
    }
)  # fmt: skip

# Keywords copied unchanged: they mean the same in JSON Schema and Kubernetes OpenAPI.
_COPIED = (
    "description",
    "enum",
    "minimum",
    "maximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
)
# Keywords dropped on purpose: documentation only, or implied by pruning.
_DROPPED = frozenset({"title", "examples", "deprecated", "readOnly", "writeOnly", "$schema"})
_HANDLED = frozenset(
    {
        "$ref", "$defs", "anyOf", "oneOf", "allOf", "type", "format", "default", "const",
        "exclusiveMinimum", "exclusiveMaximum", "items", "prefixItems", "uniqueItems", "properties",
        "required", "additionalProperties",
    }
)  # fmt: skip
_ESCAPE_HATCHES = ("x-kubernetes-int-or-string", "x-kubernetes-preserve-unknown-fields")
# CEL rules (``kubeweft.api.validation``), copied as declared.
_VALIDATIONS = "x-kubernetes-validations"

Schema = dict[str, Any]


class SchemaError(ValueError):
    """A pydantic type with no structural OpenAPI v3 equivalent."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path or '<root>'}: {message}")
        self.path = path


def structural_schema(json_schema: Mapping[str, Any]) -> Schema:
    """Translate a pydantic JSON schema (``model_json_schema()``) into a structural one."""
    translator = _Translator(json_schema.get("$defs", {}))
    return translator.node(json_schema, path="", seen=())


def structural_problems(schema: Mapping[str, Any], path: str = "") -> list[str]:
    """Where ``schema`` breaks the structural rules (empty when it is structural)."""
    problems: list[str] = []
    for key in ("$ref", "anyOf", "oneOf", "allOf", "not", "$defs"):
        if key in schema:
            problems.append(f"{path or '<root>'}: has {key}")
    if "type" not in schema and not any(schema.get(h) for h in _ESCAPE_HATCHES):
        problems.append(f"{path or '<root>'}: no type")
    if "properties" in schema and "additionalProperties" in schema:
        problems.append(f"{path or '<root>'}: both properties and additionalProperties")
    for name, child in schema.get("properties", {}).items():
        problems.extend(structural_problems(child, f"{path}.{name}"))
    if isinstance(schema.get("items"), Mapping):
        problems.extend(structural_problems(schema["items"], f"{path}[]"))
    if isinstance(schema.get("additionalProperties"), Mapping):
        problems.extend(structural_problems(schema["additionalProperties"], f"{path}{{}}"))
    return problems


class _Translator:
    def __init__(self, defs: Mapping[str, Any]) -> None:
        self._defs = defs

    def node(self, source: Mapping[str, Any], *, path: str, seen: tuple[str, ...]) -> Schema:
        unknown = set(source) - _HANDLED - _DROPPED - set(_COPIED)
        unknown = {k for k in unknown if not k.startswith("x-kubernetes-")}
        if unknown:
            raise SchemaError(path, f"unsupported JSON Schema keywords {sorted(unknown)}")

        base = self._composite(source, path=path, seen=seen)
        out: Schema = dict(base) if base is not None else {}
        self._scalar_keywords(source, out, path=path)
        self._array_keywords(source, out, path=path, seen=seen)
        self._object_keywords(source, out, path=path, seen=seen)
        for key, value in source.items():
            if key == _VALIDATIONS and isinstance(out.get(key), list):
                # A field's rules add to the rules of its type, never replace them.
                out[key] = [*out[key], *value]
            elif key.startswith("x-kubernetes-"):
                out[key] = value

        if "type" not in out and "enum" in out:
            out["type"] = _type_of_values(out["enum"], path)
        if "type" not in out and not any(out.get(h) for h in _ESCAPE_HATCHES):
            if _is_any(source):
                out["x-kubernetes-preserve-unknown-fields"] = True
            else:
                raise SchemaError(path, "cannot tell the type of this node")
        return out

    def _composite(
        self, source: Mapping[str, Any], *, path: str, seen: tuple[str, ...]
    ) -> Schema | None:
        """$ref, allOf of one $ref (older pydantic), and anyOf/oneOf (Optional, int|str)."""
        if "$ref" in source:
            return self._ref(source["$ref"], path=path, seen=seen)
        if "allOf" in source:
            parts = source["allOf"]
            if len(parts) != 1:
                raise SchemaError(path, "allOf with several schemas is not supported")
            return self.node(parts[0], path=path, seen=seen)
        variants = source.get("anyOf") or source.get("oneOf")
        if variants is None:
            return None
        non_null = [v for v in variants if v.get("type") != "null"]
        nullable = len(non_null) < len(variants)
        if len(non_null) == 1:
            out = self.node(non_null[0], path=path, seen=seen)
        elif {v.get("type") for v in non_null} == {"integer", "string"} and len(non_null) == 2:
            out = {"x-kubernetes-int-or-string": True}
        else:
            raise SchemaError(
                path, "unions other than Optional[X] and int | str have no structural form"
            )
        if nullable:
            out["nullable"] = True
        return out

    def _ref(self, ref: str, *, path: str, seen: tuple[str, ...]) -> Schema:
        prefix = "#/$defs/"
        if not ref.startswith(prefix):
            raise SchemaError(path, f"unsupported $ref {ref!r}")
        name = ref[len(prefix) :]
        if name in seen:
            raise SchemaError(path, f"recursive model {name} cannot be a structural schema")
        return self.node(self._defs[name], path=path, seen=(*seen, name))

    def _scalar_keywords(self, source: Mapping[str, Any], out: Schema, *, path: str) -> None:
        kind = source.get("type")
        if isinstance(kind, list):
            types = [t for t in kind if t != "null"]
            if len(types) != 1:
                raise SchemaError(path, f"type list {kind} has no structural form")
            out["type"] = types[0]
            if len(types) < len(kind):
                out["nullable"] = True
        elif kind is not None:
            out["type"] = kind
        for key in _COPIED:
            if key in source:
                out[key] = source[key]
        if "const" in source:
            out["enum"] = [source["const"]]
        fmt = source.get("format")
        if fmt in KUBERNETES_FORMATS:
            out["format"] = fmt
        # JSON Schema 2020-12 says exclusiveMinimum: 0; OpenAPI v3.0 says minimum: 0 plus
        # exclusiveMinimum: true.
        for exclusive, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
            if exclusive in source:
                out[bound] = source[exclusive]
                out[exclusive] = True
        if source.get("default") is not None:
            out["default"] = source["default"]

    def _array_keywords(
        self, source: Mapping[str, Any], out: Schema, *, path: str, seen: tuple[str, ...]
    ) -> None:
        if "prefixItems" in source:
            raise SchemaError(path, "tuples have no structural form")
        if "items" in source:
            out["items"] = self.node(source["items"], path=f"{path}[]", seen=seen)
        if source.get("uniqueItems"):
            # The API server refuses uniqueItems (quadratic); a set list means the same.
            if out.get("items", {}).get("type") not in ("string", "integer", "number", "boolean"):
                raise SchemaError(path, "a set (uniqueItems) must hold scalars")
            out["x-kubernetes-list-type"] = "set"

    def _object_keywords(
        self, source: Mapping[str, Any], out: Schema, *, path: str, seen: tuple[str, ...]
    ) -> None:
        if "properties" in source:
            out["properties"] = {
                name: self.node(child, path=f"{path}.{name}", seen=seen)
                for name, child in source["properties"].items()
            }
        if source.get("required"):
            out["required"] = list(source["required"])
        extra = source.get("additionalProperties")
        if extra is None or extra is False:
            # ``extra="forbid"``: pruning plus strict field validation reject unknown
            # fields already, and the API server forbids properties + additionalProperties.
            return
        if extra is True or extra == {}:
            out["x-kubernetes-preserve-unknown-fields"] = True
        elif "properties" in out:
            raise SchemaError(path, "an object cannot have both fields and free-form keys")
        else:
            out["additionalProperties"] = self.node(extra, path=f"{path}{{}}", seen=seen)


def _is_any(source: Mapping[str, Any]) -> bool:
    meaningful = set(source) - _DROPPED - {"description", "default"}
    return not meaningful


def _type_of_values(values: list[Any], path: str) -> str:
    kinds = {type(v) for v in values if v is not None}
    if kinds <= {str}:
        return "string"
    if kinds <= {bool}:
        return "boolean"
    if kinds <= {int}:
        return "integer"
    if kinds <= {int, float}:
        return "number"
    raise SchemaError(path, f"enum mixes value types {sorted(k.__name__ for k in kinds)}")
