"""An in-memory stand-in for ``kubeweft.runtime.client.Client``, for UNIT tests only.

It keeps objects in a dict and mimics the few API-server behaviours a reconciler's
logic depends on: resourceVersion bumps and optimistic concurrency (409 on a stale
version), uid/generation/creationTimestamp assignment, generation bumped only when
``spec`` changes, a status subresource that ignores everything but ``status``, JSON
merge patches, and a watch fed by a memory stream. It does not validate schemas,
run admission, garbage-collect, or filter by field selectors (label selectors use
``runtime.labels``, the same matching the cache does).

It never stands in for the API server in integration tests: those run against the
real kube-apiserver of the local control plane.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectSendStream

from kubeweft.runtime import errors, objects
from kubeweft.runtime.client import ObjectList, PatchType, Preconditions, WatchEvent
from kubeweft.runtime.labels import LabelSelector
from kubeweft.runtime.objects import K

__all__ = ["FakeClient"]


def _merge(target: dict[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """RFC 7386 JSON merge patch."""
    result = dict(target)
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(result.get(key), dict):
            result[key] = _merge(result[key], value)
        else:
            result[key] = value
    return result


class FakeClient:
    """Same method names and signatures as ``Client`` (merge patches only)."""

    def __init__(self, namespace: str = "default") -> None:
        self.default_namespace = namespace
        self._objects: dict[tuple[str, str | None, str], dict[str, Any]] = {}
        self._rv = 0
        self._watchers: list[tuple[type[Any], str | None, MemoryObjectSendStream[Any]]] = []
        self.writes: list[tuple[str, str, str]] = []  # (verb, kind, name): what a test asserts
        # verb -> error raised once by the next such write (which is still counted).
        self.fail_next: dict[str, Exception] = {}

    # --- reads ----------------------------------------------------------------------
    async def get(self, kind: type[K], name: str, namespace: str | None = None) -> K:
        return objects.from_dict(kind, self._stored(kind, name, namespace))

    async def list(
        self,
        kind: type[K],
        namespace: str | None = None,
        *,
        label_selector: str | Mapping[str, str] | None = None,
        field_selector: str | Mapping[str, str] | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
        resource_version: str | None = None,
        on_undecodable: Any = None,
    ) -> ObjectList[K]:
        kind_name = objects.kind_info(kind).kind
        selector = LabelSelector.of(label_selector)
        items = [
            objects.from_dict(kind, data)
            for (k, ns, _), data in sorted(self._objects.items(), key=lambda item: item[0][1:])
            if k == kind_name
            and (namespace is None or ns == namespace)
            and selector.matches(data["metadata"].get("labels") or {})
        ]
        return ObjectList(items, str(self._rv))

    async def list_all(
        self, kind: type[K], namespace: str | None = None, *, page_size: int = 500, **options: Any
    ) -> ObjectList[K]:
        """Every object, in one page (``page_size`` is accepted and ignored)."""
        return await self.list(kind, namespace, **options)

    # --- writes ---------------------------------------------------------------------
    async def create(self, obj: K, *, dry_run: bool = False) -> K:
        kind = type(obj)
        data = objects.to_dict(obj)
        meta = data.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        key = self._key(kind, meta.get("name"), meta.get("namespace"))
        self._inject("create", key)
        if key in self._objects:
            raise errors.AlreadyExists(409, "AlreadyExists", f"{key[2]} already exists")
        meta.update(
            namespace=key[1],
            uid=str(uuid.uuid4()),
            generation=1,
            creationTimestamp=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        return self._store(kind, key, data, "ADDED", "create")

    async def update(self, obj: K) -> K:
        return self._replace(obj, status_only=False)

    async def update_status(self, obj: K) -> K:
        return self._replace(obj, status_only=True)

    async def patch(
        self,
        kind: type[K],
        name: str,
        patch: Mapping[str, Any] | Sequence[Mapping[str, Any]],
        *,
        namespace: str | None = None,
        patch_type: PatchType = PatchType.MERGE,
        subresource: str | None = None,
        field_manager: str | None = None,
        force: bool = False,
        dry_run: bool = False,
    ) -> K:
        if patch_type is not PatchType.MERGE or not isinstance(patch, Mapping):
            raise NotImplementedError("FakeClient supports JSON merge patches only")
        self._inject("patch", self._key(kind, name, namespace))
        current = self._stored(kind, name, namespace)
        patched = _merge(current, patch)
        if subresource == "status":
            patched = {**current, "status": patched.get("status")}
        wanted_rv = (patch.get("metadata") or {}).get("resourceVersion")
        if wanted_rv is not None and wanted_rv != current["metadata"]["resourceVersion"]:
            raise errors.Conflict(409, "Conflict", "the object has been modified")
        return self._write(kind, current, patched, status_only=subresource == "status")

    async def apply(self, obj: K, **_: Any) -> K:
        raise NotImplementedError("server-side apply needs the real API server")

    async def delete(
        self,
        kind: type[Any],
        name: str,
        namespace: str | None = None,
        *,
        propagation_policy: str | None = None,
        preconditions: Preconditions | None = None,
        grace_period_seconds: int | None = None,
        dry_run: bool = False,
    ) -> None:
        self._inject("delete", self._key(kind, name, namespace))
        current = self._stored(kind, name, namespace)
        meta = current["metadata"]
        if preconditions is not None and (
            (preconditions.uid and preconditions.uid != meta["uid"])
            or (
                preconditions.resource_version
                and preconditions.resource_version != meta["resourceVersion"]
            )
        ):
            raise errors.Conflict(409, "Conflict", "precondition failed")
        key = self._key(kind, name, namespace)
        del self._objects[key]
        self._rv += 1
        meta["resourceVersion"] = str(self._rv)
        self.writes.append(("delete", key[0], name))
        self._notify(kind, key[1], "DELETED", current)

    # --- watch ----------------------------------------------------------------------
    async def watch(
        self, kind: type[K], namespace: str | None = None, **_: Any
    ) -> AsyncGenerator[WatchEvent[K], None]:
        """Events for writes made after the call (no replay from a resourceVersion)."""
        send, receive = anyio.create_memory_object_stream[tuple[str, dict[str, Any]]](1000)
        entry = (kind, namespace, send)
        self._watchers.append(entry)
        try:
            async with receive:
                async for event_type, data in receive:
                    obj = objects.from_dict(kind, data)
                    rv = data["metadata"]["resourceVersion"]
                    yield WatchEvent(event_type, obj, rv)  # type: ignore[arg-type]
        finally:
            self._watchers.remove(entry)

    async def aclose(self) -> None:
        for _, _, send in self._watchers:
            send.close()

    # --- arranging a test -------------------------------------------------------------
    def put(self, obj: Any) -> None:
        """Store ``obj`` as given: a test's arrangement, not a write (nothing counted)."""
        data = objects.to_dict(obj)
        key = self._key(type(obj), data["metadata"].get("name"), data["metadata"].get("namespace"))
        self._rv += 1
        data["metadata"].setdefault("resourceVersion", str(self._rv))
        self._objects[key] = data

    def edit(
        self, kind: str, name: str, change: Callable[[dict[str, Any]], None], namespace: str = ""
    ) -> None:
        """Mutate a stored object in place, as a hand edit or another controller would."""
        data = self.raw(kind, name, namespace)
        change(data)
        self._rv += 1
        data["metadata"]["resourceVersion"] = str(self._rv)

    def raw(self, kind: str, name: str, namespace: str = "") -> dict[str, Any]:
        """The stored wire-form object (namespace defaults to the client's)."""
        return self._objects[(kind, namespace or self.default_namespace, name)]

    # --- plumbing -------------------------------------------------------------------
    def _inject(self, verb: str, key: tuple[str, str | None, str]) -> None:
        error = self.fail_next.pop(verb, None)
        if error is not None:
            self.writes.append((verb, key[0], key[2]))
            raise error

    def _key(
        self, kind: type[Any], name: str | None, namespace: str | None
    ) -> tuple[str, str | None, str]:
        info = objects.kind_info(kind)
        if not name:
            raise errors.Invalid(422, "Invalid", "metadata.name is required")
        return info.kind, (namespace or self.default_namespace) if info.namespaced else None, name

    def _stored(self, kind: type[Any], name: str, namespace: str | None) -> dict[str, Any]:
        key = self._key(kind, name, namespace)
        if key not in self._objects:
            raise errors.NotFound(404, "NotFound", f'{key[0]} "{name}" not found')
        return dict(self._objects[key])

    def _replace(self, obj: K, *, status_only: bool) -> K:
        kind = type(obj)
        data = objects.to_dict(obj)
        meta = data.get("metadata") or {}
        self._inject(
            "update_status" if status_only else "update",
            self._key(kind, meta.get("name"), meta.get("namespace")),
        )
        current = self._stored(kind, meta.get("name", ""), meta.get("namespace"))
        sent_rv = meta.get("resourceVersion")
        if sent_rv and sent_rv != current["metadata"]["resourceVersion"]:
            raise errors.Conflict(409, "Conflict", "the object has been modified")
        return self._write(kind, current, data, status_only=status_only)

    def _write(
        self, kind: type[K], current: dict[str, Any], new: dict[str, Any], *, status_only: bool
    ) -> K:
        if status_only:
            merged = {**current, "status": new.get("status")}
        else:
            merged = {**new, "status": current.get("status")}
            system = {
                k: current["metadata"][k]
                for k in ("uid", "creationTimestamp", "generation", "namespace")
            }
            merged["metadata"] = {**new.get("metadata", {}), **system}
            if new.get("spec") != current.get("spec"):
                merged["metadata"]["generation"] = current["metadata"]["generation"] + 1
        merged = {k: v for k, v in merged.items() if v is not None}
        key = self._key(kind, current["metadata"]["name"], current["metadata"].get("namespace"))
        return self._store(
            kind, key, merged, "MODIFIED", "update_status" if status_only else "update"
        )

    def _store(
        self,
        kind: type[K],
        key: tuple[str, str | None, str],
        data: dict[str, Any],
        event: str,
        verb: str,
    ) -> K:
        self._rv += 1
        data["metadata"]["resourceVersion"] = str(self._rv)
        self._objects[key] = data
        self.writes.append((verb, key[0], key[2]))
        self._notify(kind, key[1], event, data)
        return objects.from_dict(kind, data)

    def _notify(
        self, kind: type[Any], namespace: str | None, event: str, data: dict[str, Any]
    ) -> None:
        for watched, ns, send in self._watchers:
            if watched is kind and (ns is None or ns == namespace):
                send.send_nowait((event, data))
