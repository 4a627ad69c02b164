"""Finalizers on an object's metadata (``controllerutil.AddFinalizer`` and friends).

A finalizer keeps a deleted object in place (``deletionTimestamp`` set) until the
controller that added it has cleaned up what garbage collection cannot — rows in a
database, objects in another namespace or cluster — and removed it. These helpers only
edit ``metadata.finalizers``; the caller writes the object (an update carrying its
resourceVersion, so a concurrent edit of the list is a conflict, not a loss).
"""

from __future__ import annotations

from typing import Any

__all__ = ["add_finalizer", "contains_finalizer", "remove_finalizer"]


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
