"""Finalizers on an object's metadata (``controllerutil.AddFinalizer`` and friends).

A finalizer keeps a deleted object in place (``deletionTimestamp`` set) until the
controller that added it has cleaned up what garbage collection cannot — rows in a
database, objects in another namespace or cluster — and removed it. These helpers only
edit ``metadata.finalizers``; the caller writes the object (an update carrying its
resourceVersion, so a concurrent edit of the list is a conflict, not a loss).

:func:`handle_finalizer` is the whole flow a reconciler needs (controller-runtime's
``finalizer.Finalizers``): add the finalizer to a live object, run the cleanup once
the object is being deleted, remove the finalizer when the cleanup succeeded, and
report a failed cleanup as a Warning Event while re-raising it, so the controller's
backoff retries it and the object stays until the cleanup has happened.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from kubeweft.controllerutil.client import Writer
from kubeweft.runtime import errors

__all__ = [
    "CLEANUP_FAILED",
    "EventSink",
    "FinalizerResult",
    "add_finalizer",
    "contains_finalizer",
    "handle_finalizer",
    "remove_finalizer",
]

#: The reason of the Warning Event recorded when a cleanup raises.
CLEANUP_FAILED = "CleanupFailed"


class EventSink(Protocol):
    """Records an Event on an object (``runtime.recorder.EventRecorder``)."""

    def event(self, obj: Any, type: Any, reason: str, message: str) -> None: ...


@dataclass(frozen=True)
class FinalizerResult:
    """What :func:`handle_finalizer` did, and whether the reconcile goes on."""

    #: The object is being deleted: its cleanup is done (or not ours), stop reconciling.
    deleting: bool
    #: ``metadata.finalizers`` was written (the object's metadata is the server's now).
    updated: bool

    @property
    def proceed(self) -> bool:
        """True if the caller should reconcile the object as usual."""
        return not self.deleting


async def handle_finalizer(
    client: Writer,
    obj: Any,
    finalizer: str,
    cleanup: Callable[[Any], Awaitable[None]],
    *,
    events: EventSink,
) -> FinalizerResult:
    """Keep ``finalizer`` on a live ``obj``; on deletion run ``cleanup`` and release it.

    * Not being deleted (no ``deletionTimestamp``): adds the finalizer if missing, with
      one merge patch of ``metadata.finalizers`` carrying the object's resourceVersion
      (a stale copy is a 409 Conflict and a retry, never a lost finalizer of another
      controller) → ``proceed``.
    * Being deleted and carrying the finalizer: awaits ``cleanup(obj)``; when it
      returns, removes the finalizer the same way (an object already gone counts as
      released) → ``deleting``. When it raises, records a Warning Event with reason
      ``CleanupFailed`` on ``obj`` and re-raises: the finalizer stays, the object stays,
      and the controller retries with backoff.
    * Being deleted without the finalizer: nothing to do → ``deleting``.

    After a write, ``obj.metadata`` is the server's, so a later ``patch_status`` or
    update of ``obj`` starts from the new resourceVersion.
    """
    if obj.metadata.deletionTimestamp is None:
        if contains_finalizer(obj, finalizer):
            return FinalizerResult(deleting=False, updated=False)
        finalizers = [*(obj.metadata.finalizers or []), finalizer]
        await _write_finalizers(client, obj, finalizers)
        return FinalizerResult(deleting=False, updated=True)
    if not contains_finalizer(obj, finalizer):
        return FinalizerResult(deleting=True, updated=False)
    try:
        await cleanup(obj)
    except Exception as err:
        events.event(obj, "Warning", CLEANUP_FAILED, f"{finalizer}: {err}")
        raise
    kept = [f for f in obj.metadata.finalizers or [] if f != finalizer]
    # An object already gone was released by someone else: nothing holds it any more.
    with contextlib.suppress(errors.NotFound):
        await _write_finalizers(client, obj, kept)
    return FinalizerResult(deleting=True, updated=True)


async def _write_finalizers(client: Writer, obj: Any, finalizers: list[str]) -> None:
    meta = obj.metadata
    patch: dict[str, Any] = {"metadata": {"finalizers": finalizers}}
    if meta.resourceVersion:
        patch["metadata"]["resourceVersion"] = meta.resourceVersion
    answer = await client.patch(type(obj), meta.name, patch, namespace=meta.namespace)
    obj.metadata = answer.metadata


def add_finalizer(obj: Any, finalizer: str) -> bool:
    """Add ``finalizer`` unless present; True if it was added."""
    if contains_finalizer(obj, finalizer):
        return False
    obj.metadata.finalizers = [*(obj.metadata.finalizers or []), finalizer]
    return True


def remove_finalizer(obj: Any, finalizer: str) -> bool:
    """Remove every occurrence of ``finalizer``; True if there was one."""
    current = list(obj.metadata.finalizers or [])
    kept = [f for f in current if f != finalizer]
    if len(kept) == len(current):
        return False
    obj.metadata.finalizers = kept or None
    return True


def contains_finalizer(obj: Any, finalizer: str) -> bool:
    """True if ``obj`` carries ``finalizer``."""
    return finalizer in (obj.metadata.finalizers or [])
