"""The objects an object owns (their ``ownerReferences`` name its UID), from the cache.

The controller already runs an informer per owned kind — scoped to the objects kubeweft
manages by the managed-by label (``Cache.informer_for(kind, owned=True)``) — so the
detail page and ``GET …/owned`` read children from memory, never from the API server.
A namespaced owner's children live in its namespace (Kubernetes refuses an owner
reference across namespaces); a cluster-scoped owner's may be anywhere.

Each child gets a one-line state anyone can read without knowing its kind: ready or
not (or unknown) and a short summary — replicas for workloads, type and address for a
Service, phase for a Pod, otherwise its Ready/Available condition.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import anyio

from kubeweft.runtime import objects
from kubeweft.runtime.index import OWNERS_INDEX
from kubeweft.runtime.objects import KindInfo, kind_info

__all__ = ["OwnedCache", "OwnedObject", "OwnedObjects", "summarize"]


class _Store(Protocol):
    def by_index(self, name: str, value: str) -> list[Any]: ...

    def has_synced(self) -> bool: ...

    async def wait_for_sync(self) -> None: ...


class OwnedCache(Protocol):
    """What this needs of ``kubeweft.runtime.cache.Cache``."""

    def informer_for(self, kind: type[Any], *, owned: bool = False) -> Any: ...


@dataclass(frozen=True)
class OwnedObject:
    """One child: what it is, and a state in words (``ready`` None: cannot tell)."""

    kind: str
    api_version: str
    plural: str
    namespace: str | None
    name: str
    uid: str
    ready: bool | None
    summary: str


def _condition(status: Mapping[str, Any], *types: str) -> tuple[bool | None, str] | None:
    for condition in status.get("conditions") or ():
        if condition.get("type") in types:
            ok = condition.get("status") == "True"
            reason = condition.get("reason") or condition.get("message") or ""
            text = f"{condition['type']}" if ok else f"{condition['type']}=False {reason}"
            return ok, text.strip()
    return None


def summarize(wire: Mapping[str, Any]) -> tuple[bool | None, str]:
    """``(ready, summary)`` of any object in its wire form (camelCase dict)."""
    spec: Mapping[str, Any] = wire.get("spec") or {}
    status: Mapping[str, Any] = wire.get("status") or {}
    kind = wire.get("kind", "")
    if "replicas" in spec or kind in ("Deployment", "StatefulSet", "ReplicaSet"):
        wanted = int(spec.get("replicas", 1))
        ready = int(status.get("readyReplicas") or 0)
        updated = int(status.get("updatedReplicas") or 0)
        text = f"{ready}/{wanted} ready"
        if updated < wanted:
            text += f", {updated} up to date"
        return ready >= wanted, text
    if kind == "Service":
        ports = ", ".join(
            f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in spec.get("ports") or ()
        )
        address = spec.get("clusterIP") or "no address yet"
        return bool(spec.get("clusterIP")), f"{spec.get('type', 'ClusterIP')} {address} {ports}"
    if kind == "Pod":
        phase = status.get("phase", "Pending")
        found = _condition(status, "Ready")
        return (found[0] if found else phase == "Running"), phase
    found = _condition(status, "Ready", "Available", "Complete")
    if found is not None:
        return found
    return None, "no readiness reported"


class OwnedObjects:
    """The children of a model's objects, by owned kind, from the controller's cache."""

    def __init__(
        self,
        cache: OwnedCache,
        owned_kinds: Mapping[type[Any], Sequence[type[Any]]],
        *,
        sync_timeout: float = 5.0,
    ) -> None:
        self._cache = cache
        self._owned_kinds = {model: tuple(kinds) for model, kinds in owned_kinds.items()}
        self._sync_timeout = sync_timeout

    def kinds_of(self, model: type[Any]) -> tuple[KindInfo, ...]:
        """The kinds ``model``'s objects may own, as declared (``ModelInfo.owns``, and
        ``owns=`` of its controllers)."""
        return tuple(kind_info(kind) for kind in self._owned_kinds.get(model, ()))

    async def of(self, owner: Any, kind: KindInfo) -> list[OwnedObject]:
        """``owner``'s children of ``kind``, ordered by namespace and name."""
        kind_class = next(k for k in self._owned_kinds.get(type(owner), ()) if kind_info(k) == kind)
        store: _Store = self._cache.informer_for(kind_class, owned=True)
        if not store.has_synced():
            with anyio.move_on_after(self._sync_timeout):
                await store.wait_for_sync()
        namespace = owner.metadata.namespace if kind.namespaced else None
        # By the owners index: an owned informer decodes what it reads, so only the
        # owner's children are decoded, not every object of the namespace.
        children = [
            child
            for child in store.by_index(OWNERS_INDEX, owner.metadata.uid)
            if namespace is None or child.metadata.namespace == namespace
        ]
        found = []
        for child in sorted(children, key=lambda c: (c.metadata.namespace or "", c.metadata.name)):
            wire = {"kind": kind.kind, **objects.to_dict(child)}
            ready, summary = summarize(wire)
            meta = child.metadata
            found.append(
                OwnedObject(
                    kind=kind.kind,
                    api_version=kind.api_version,
                    plural=kind.plural,
                    namespace=meta.namespace,
                    name=meta.name,
                    uid=meta.uid,
                    ready=ready,
                    summary=summary,
                )
            )
        return found
