"""Writing status without colliding with the controller's own previous write.

A reconciler reads its object from the cache, which lags the API server by a watch
event. An ``update_status`` carries the cached resourceVersion, so the reconcile that
follows a status write — woken by an owned object's event a moment later — often
sends a version the server has already replaced and gets 409 Conflict for its own
write (each new object's first follow-up reconcile did). Two cures exist:

* wait until the cache holds the last write (``Cache.wait_for_resource_version``) —
  a pause in every such reconcile, state kept between reconciles, and a timeout to pick;
* send what changed as a JSON merge patch of ``status`` without a resourceVersion.

:func:`patch_status` does the second, as kubebuilder's ``Status().Patch(ctx, obj,
client.MergeFrom(original))`` does. Optimistic concurrency protects nothing here: the
status subresource has one writer, the controller, and the work queue never runs two
reconciles of one object at once, while spec and metadata cannot change through it.
A patch computed from a stale copy only re-sends values the next reconcile computes
again from fresher state (level-triggered). An empty difference sends nothing.

A status write may advance ``observedGeneration``, so it first waits until the
generation's history record is on disk (``reconcile_log.Attempt.kept``; at once
outside a logged reconcile, or when the generation is recorded already).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubeweft.controllerutil.client import Writer
from kubeweft.controllerutil.reconcile_log import current_attempt
from kubeweft.runtime import objects

__all__ = ["merge_patch", "patch_status"]


async def patch_status(
    client: Writer, obj: Any, original: Any, *, field_manager: str | None = None
) -> bool:
    """Write ``obj.status`` where it differs from ``original.status``; True if written."""
    patch = merge_patch(_status(original), _status(obj))
    if not patch:
        return False
    await current_attempt().kept()
    meta = obj.metadata
    await client.patch(
        type(obj),
        meta.name,
        {"status": patch},
        namespace=meta.namespace,
        subresource="status",
        field_manager=field_manager,
    )
    return True


def merge_patch(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """The RFC 7386 merge patch turning ``before`` into ``after`` (lists are replaced)."""
    patch: dict[str, Any] = {key: None for key in before if key not in after}
    for key, value in after.items():
        old = before.get(key)
        if isinstance(value, Mapping) and isinstance(old, Mapping):
            nested = merge_patch(old, value)
            if nested:
                patch[key] = nested
        elif key not in before or value != old:
            patch[key] = value
    return patch


def _status(obj: object) -> Mapping[str, Any]:
    status = objects.to_dict(obj).get("status")
    return status if isinstance(status, Mapping) else {}
