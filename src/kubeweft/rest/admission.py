"""The model's admission rules, run by the REST layer before it writes.

The API server would call the same webhook anyway (when it is configured), but running
the rules here first means a REST client gets the refusal as a problem document naming
the field (``spec.image``), the same words ``kubectl`` shows, even where the webhook is
not deployed; and the defaults are in the object the REST layer writes. Warnings become
``Warning: 299 - "..."`` response headers, as the API server sends them.
"""

from __future__ import annotations

from typing import Any

from kubeweft.api.admission import AdmissionRequest, Denied, Operation, Warnings
from kubeweft.auth.identity import Identity
from kubeweft.rest.context import AppContext
from kubeweft.rest.problems import FieldError, Problem

__all__ = ["admit", "warning_headers"]


async def admit(
    ctx: AppContext,
    identity: Identity,
    operation: Operation,
    obj: Any,
    old: Any = None,
    *,
    what: str,
) -> Warnings:
    """Default ``obj`` in place (create and update) and validate it; a denial is a
    problem with the webhook's code (422) naming the fields."""
    hook = ctx.webhooks.get(type(obj))
    if hook is None:
        return []
    request = AdmissionRequest(
        operation=operation,
        user=identity.user,
        groups=tuple(identity.groups),
        namespace=obj.metadata.namespace,
        name=obj.metadata.name,
    )
    try:
        if operation != "DELETE":
            await hook.default(request, obj)
        return await hook.validate(request, obj, old)
    except Denied as denied:
        errors = [FieldError(e.field, e.message) for e in denied.errors]
        raise Problem(
            denied.code,
            f"{what} was denied: {denied.message}",
            slug="validation-error" if denied.code == 422 else "",
            errors=errors or [FieldError("body", denied.message)],
        ) from None


def warning_headers(warnings: Warnings) -> dict[str, str]:
    """RFC 7234 ``Warning`` values, as the API server sends admission warnings."""
    if not warnings:
        return {}
    quoted = (w.replace("\\", "\\\\").replace('"', '\\"') for w in warnings)
    return {"Warning": ", ".join(f'299 - "{w}"' for w in quoted)}
