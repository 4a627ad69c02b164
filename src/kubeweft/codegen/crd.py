"""The CustomResourceDefinition of a model, derived from its pydantic declaration.

The pydantic classes already hold every validation rule (bounds, patterns, enums,
defaults), so the CRD is a translation, not a second description: the API server then
rejects the same invalid objects the Python code would, before any controller sees them.
"""

from __future__ import annotations

import base64
from typing import Any

from kubeweft.api import CustomResource, names
from kubeweft.api.conversion import CONVERT_PATH, Conversion
from kubeweft.codegen.schema import Schema, structural_schema
from kubeweft.codegen.webhooks import ClientConfig, default_client_config

# Top-level fields every object has; the API server validates metadata itself, and a
# CRD may only say ``type: object`` for it.
_ENVELOPE: dict[str, Schema] = {
    "apiVersion": {
        "type": "string",
        "description": "APIVersion defines the versioned schema of this representation "
        "of an object.",
    },
    "kind": {
        "type": "string",
        "description": "Kind is a string value representing the REST resource this "
        "object represents.",
    },
    "metadata": {"type": "object"},
}


def crd_for(
    model: type[CustomResource],
    conversion: Conversion | None = None,
    *,
    client_config: ClientConfig | None = None,
    ca_bundle: bytes | None = None,
) -> dict[str, Any]:
    """The ``apiextensions.k8s.io/v1`` CustomResourceDefinition serving ``model``.

    With a ``conversion`` (``model`` is its hub) every version is served, the hub is
    stored, and the API server converts through the webhook at ``/convert``, reached
    by ``client_config`` (by default the webhook Service of ``config/webhook``)."""
    info = model.model_info
    names: dict[str, Any] = {
        "kind": info.kind,
        "listKind": f"{info.kind}List",
        "plural": info.plural,
        "singular": info.singular or info.kind.lower(),
    }
    if info.short_names:
        names["shortNames"] = list(info.short_names)
    if info.categories:
        names["categories"] = list(info.categories)
    versions = conversion.versions if conversion is not None else (model,)
    spec: dict[str, Any] = {
        "group": info.group,
        "names": names,
        "scope": "Namespaced" if info.namespaced else "Cluster",
        "versions": [_version(each, storage=each is model) for each in versions],
    }
    if conversion is not None and conversion.spokes:
        config = (client_config or default_client_config)(CONVERT_PATH)
        if ca_bundle is not None:
            config["caBundle"] = base64.b64encode(ca_bundle).decode()
        spec["conversion"] = {
            "strategy": "Webhook",
            "webhook": {"clientConfig": config, "conversionReviewVersions": ["v1"]},
        }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": info.crd_name},
        "spec": spec,
    }


def versions_share_schema(conversion: Conversion) -> bool:
    """Whether every version of ``conversion`` has the same schema (descriptions aside).

    Then the API server can convert by itself, with the CRD's ``conversion: strategy:
    None``: it rewrites ``apiVersion`` and keeps every field, which no version's schema
    then prunes. Versions whose schemas differ (a field renamed, a list in place of a
    single value) need the conversion webhook."""
    first, *others = (_without_descriptions(openapi_schema(v)) for v in conversion.versions)
    return all(other == first for other in others)


def _without_descriptions(schema: Any) -> Any:
    """``schema`` without its ``description`` keywords (a property may be named so)."""
    if isinstance(schema, list):
        return [_without_descriptions(each) for each in schema]
    if not isinstance(schema, dict):
        return schema
    kept: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "description" and isinstance(value, str):
            continue
        if key == "properties" and isinstance(value, dict):
            kept[key] = {name: _without_descriptions(sub) for name, sub in value.items()}
        else:
            kept[key] = _without_descriptions(value)
    return kept


def _version(model: type[CustomResource], *, storage: bool) -> dict[str, Any]:
    info = model.model_info
    version: dict[str, Any] = {
        "name": info.version,
        "served": True,
        "storage": storage,
        "schema": {"openAPIV3Schema": openapi_schema(model)},
    }
    subresources: dict[str, Any] = {}
    if "status" in model.model_fields:
        subresources["status"] = {}
    if info.scale is not None:
        scale = {
            "specReplicasPath": info.scale.spec_replicas_path,
            "statusReplicasPath": info.scale.status_replicas_path,
        }
        if info.scale.label_selector_path:
            scale["labelSelectorPath"] = info.scale.label_selector_path
        subresources["scale"] = scale
    if subresources:
        version["subresources"] = subresources
    if info.printer_columns:
        version["additionalPrinterColumns"] = [
            {
                "name": column.name,
                "type": column.type,
                "jsonPath": column.json_path,
                **({"description": column.description} if column.description else {}),
                **({"priority": column.priority} if column.priority else {}),
            }
            for column in info.printer_columns
        ]
    return version


def openapi_schema(model: type[CustomResource]) -> Schema:
    """The structural ``openAPIV3Schema`` of ``model``: envelope plus spec, status, ..."""
    source = model.model_json_schema(by_alias=True, mode="validation")
    translated = structural_schema(
        {
            "$defs": source.get("$defs", {}),
            "type": "object",
            "properties": {
                name: schema
                for name, schema in source["properties"].items()
                if name not in _ENVELOPE
            },
        }
    )
    properties = dict(_ENVELOPE)
    rule = names.object_name_rule(model.model_info)
    if rule is not None:
        # The one place a CRD may constrain metadata: its name (and generateName).
        name = {"type": "string", "maxLength": rule.max_length, "pattern": rule.pattern}
        properties["metadata"] = {
            "type": "object",
            "properties": {"name": {**name, "description": rule.description}},
        }
    for name, schema in translated.get("properties", {}).items():
        # ``status: Status = Field(default_factory=...)`` is a Python convenience; on the
        # server a missing status means "not observed yet", so top-level defaults go.
        schema.pop("default", None)
        properties[name] = schema
    root: Schema = {"type": "object", "properties": properties}
    if source.get("description"):
        root["description"] = source["description"]
    required = [name for name in source.get("required", []) if name not in _ENVELOPE]
    if required:
        root["required"] = required
    return root
