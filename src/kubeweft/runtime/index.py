"""Secondary indexes over an informer's store.

A reconciler asks "which Deployments does this object own?" or "what is in namespace
X?" on every pass; scanning the whole cache for that is O(objects) per reconcile. An
index maps a computed value (a namespace, an owner UID, any custom field) to the keys
of the objects that have it, kept up to date as the informer applies each event —
client-go's ``Indexers`` and controller-runtime's field indexers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from kubeweft.runtime import objects
from kubeweft.runtime.objects import ObjectKey

__all__ = [
    "NAMESPACE_INDEX",
    "OWNERS_INDEX",
    "OWNER_UID_INDEX",
    "IndexFunc",
    "Indexer",
    "by_controller_owner_uid",
    "by_namespace",
    "by_owner_uids",
]

#: Computes the values under which an object is indexed (zero, one or several).
IndexFunc = Callable[[Any], Iterable[str]]

NAMESPACE_INDEX = "namespace"
OWNER_UID_INDEX = "owner-uid"
#: Every owner's UID (controller or not): what the detail view lists as children.
OWNERS_INDEX = "owners"


def by_namespace(obj: Any) -> Iterable[str]:
    return (obj.metadata.namespace or "",)


def by_controller_owner_uid(obj: Any) -> Iterable[str]:
    owner = objects.controller_owner(obj)
    return (owner.uid,) if owner is not None else ()


def by_owner_uids(obj: Any) -> Iterable[str]:
    return tuple(ref.uid for ref in obj.metadata.ownerReferences or ())


class Indexer:
    """Index name → value → object keys, plus the reverse map needed to update it."""

    def __init__(self) -> None:
        self._funcs: dict[str, IndexFunc] = {}
        self._index: dict[str, dict[str, set[ObjectKey]]] = {}
        self._values: dict[str, dict[ObjectKey, tuple[str, ...]]] = {}

    def add_index(self, name: str, func: IndexFunc, existing: Mapping[ObjectKey, Any]) -> None:
        if name in self._funcs:
            raise ValueError(f"index {name!r} already exists")
        self._funcs[name] = func
        self._index[name] = {}
        self._values[name] = {}
        for key, obj in existing.items():
            self._add(name, key, obj)

    def names(self) -> list[str]:
        return list(self._funcs)

    def update(self, key: ObjectKey, obj: Any | None) -> None:
        """Re-index ``key`` for its new state (``None``: the object is gone)."""
        for name in self._funcs:
            self._remove(name, key)
            if obj is not None:
                self._add(name, key, obj)

    def rebuild(self, store: Mapping[ObjectKey, Any]) -> None:
        for name in self._funcs:
            self._index[name] = {}
            self._values[name] = {}
            for key, obj in store.items():
                self._add(name, key, obj)

    def lookup(self, name: str, value: str) -> set[ObjectKey]:
        if name not in self._index:
            raise KeyError(f"no index named {name!r}")
        return set(self._index[name].get(value, ()))

    def _add(self, name: str, key: ObjectKey, obj: Any) -> None:
        values = tuple(dict.fromkeys(self._funcs[name](obj)))
        if not values:
            return
        self._values[name][key] = values
        index = self._index[name]
        for value in values:
            index.setdefault(value, set()).add(key)

    def _remove(self, name: str, key: ObjectKey) -> None:
        index = self._index[name]
        for value in self._values[name].pop(key, ()):
            keys = index.get(value)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del index[value]
