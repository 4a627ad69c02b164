"""The Tenant's OpenAPI document carries the project's own field, ``ownersSince``, in the
detail and list-item schemas, as ``python -m kubeweft.rest.openapi tenant.app:app``
exports it."""

from __future__ import annotations

from kubeweft.rest.openapi import app_document


def test_owners_since_is_in_the_read_and_list_item_schemas() -> None:
    schemas = app_document("tenant.app:app")["components"]["schemas"]
    for name in ("TenantRead", "TenantListItem"):
        owners_since = schemas[name]["properties"]["ownersSince"]
        assert owners_since["type"] == "object", name
        assert owners_since["additionalProperties"] == {"format": "date-time", "type": "string"}
        assert "ownersSince" not in schemas[name].get("required", []), name
