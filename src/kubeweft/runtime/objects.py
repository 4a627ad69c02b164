"""Kinds and objects: one vocabulary for our pydantic models and lightkube's core types.

The runtime handles two families of objects — custom resources declared as
``kubeweft.api.CustomResource`` subclasses and Kubernetes' own kinds as lightkube typed
models (msgspec structs). Both expose ``obj.metadata`` with Kubernetes' camelCase field
names, so this module is the only place that needs to know which family an object
belongs to: it derives a :class:`KindInfo` from a kind class, converts objects to and
from their wire form, and builds the lightkube resource classes the client uses to
build URLs.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import msgspec
from lightkube import generic_resource
from lightkube.core import resource as lk_resource
from lightkube.models.meta_v1 import OwnerReference

from kubeweft.api import CustomResource

__all__ = [
    "K",
    "KindInfo",
    "ObjectKey",
    "OwnerReference",
    "controller_owner",
    "decode",
    "deep_copy",
    "encode",
    "from_dict",
    "is_custom_kind",
    "kind_info",
    "lightkube_resource",
    "object_key",
    "owner_reference",
    "to_dict",
]

#: The type of an object of a kind; ``Client.get(Store, ...)`` returns ``Store``.
K = TypeVar("K")


@dataclass(frozen=True)
class KindInfo:
    """Group, version, kind and REST plural of a kind: what a URL and a GVK need."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def __str__(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural


@dataclass(frozen=True, order=True)
class ObjectKey:
    """``types.NamespacedName``: how an object is addressed (no namespace if cluster-scoped)."""

    namespace: str | None
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


def is_custom_kind(kind: type[Any]) -> bool:
    """True for a kubeweft pydantic model, False for a lightkube typed resource."""
    return isinstance(kind, type) and issubclass(kind, CustomResource)


_kind_infos: dict[type[Any], KindInfo] = {}
_resources: dict[tuple[type[Any], str | None], type[Any]] = {}


def kind_info(kind: type[Any]) -> KindInfo:
    """The :class:`KindInfo` of a pydantic model or a lightkube typed resource class."""
    info = _kind_infos.get(kind)
    if info is None:
        info = _kind_infos[kind] = _derive_kind_info(kind)
    return info


def _derive_kind_info(kind: type[Any]) -> KindInfo:
    if is_custom_kind(kind):
        info = kind.model_info
        return KindInfo(info.group, info.version, info.kind, info.plural, info.namespaced)
    if isinstance(kind, type) and issubclass(kind, lk_resource.Resource):
        api = lk_resource.api_info(kind)
        namespaced = issubclass(
            kind, lk_resource.NamespacedResource | lk_resource.NamespacedSubResource
        )
        res = api.resource
        return KindInfo(res.group, res.version, res.kind, api.plural, namespaced)
    raise TypeError(f"{kind!r} is neither a kubeweft CustomResource nor a lightkube resource")


def lightkube_resource(kind: type[Any], subresource: str | None = None) -> type[Any]:
    """The lightkube resource class that builds URLs for ``kind`` (or its subresource).

    Custom kinds get a ``lightkube.generic_resource`` class; subresources a small class
    carrying only the ``ApiInfo`` lightkube's ``prepare_request`` reads.
    """
    resource = _resources.get((kind, subresource))
    if resource is None:
        resource = _resources[(kind, subresource)] = _derive_resource(kind, subresource)
    return resource


def _derive_resource(kind: type[Any], subresource: str | None) -> type[Any]:
    info = kind_info(kind)
    if subresource is None:
        if not is_custom_kind(kind):
            return kind
        create = (
            generic_resource.create_namespaced_resource
            if info.namespaced
            else generic_resource.create_global_resource
        )
        return cast(type[Any], create(info.group, info.version, info.kind, info.plural))
    definition = lk_resource.ResourceDef(info.group, info.version, info.kind)
    base = lk_resource.NamespacedSubResource if info.namespaced else lk_resource.GlobalSubResource
    api = lk_resource.ApiInfo(
        resource=definition,
        parent=definition,
        plural=info.plural,
        verbs=["get", "patch", "put"],
        action=subresource,
    )
    name = f"{info.kind}{subresource.capitalize()}"
    return type(name, (base,), {"_api_info": api})


def to_dict(obj: object) -> dict[str, Any]:
    """The object as the API server expects it: camelCase keys, no nulls, RFC 3339 times."""
    if isinstance(obj, CustomResource):
        return obj.to_dict()
    if isinstance(obj, msgspec.Struct):
        data = cast(dict[str, Any], msgspec.to_builtins(obj))
        info = kind_info(type(obj))
        data.setdefault("apiVersion", info.api_version)
        data.setdefault("kind", info.kind)
        return data
    if isinstance(obj, Mapping):
        return dict(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__}")


def from_dict(kind: type[K], data: Mapping[str, Any]) -> K:
    """Build a typed object of ``kind`` from its wire form."""
    if is_custom_kind(kind):
        return kind.model_validate(data)  # type: ignore[attr-defined,no-any-return]
    return msgspec.convert(data, kind, strict=False)


def encode(obj: object) -> bytes:
    """The object as JSON bytes that :func:`decode` turns back into an equal object."""
    if isinstance(obj, CustomResource):
        return obj.__pydantic_serializer__.to_json(obj, by_alias=True, exclude_none=True)
    return msgspec.json.encode(obj)


def decode(kind: type[K], data: bytes) -> K:
    """Decode a JSON body straight into ``kind`` (no intermediate dict for core kinds)."""
    if is_custom_kind(kind):
        return kind.model_validate_json(data)  # type: ignore[attr-defined,no-any-return]
    return msgspec.json.decode(data, type=kind)


def deep_copy(obj: K) -> K:
    """A copy the caller may mutate without touching a cached object."""
    if isinstance(obj, CustomResource):
        return cast(K, obj.model_copy(deep=True))
    return copy.deepcopy(obj)


def object_key(obj: object) -> ObjectKey:
    meta = _metadata(obj)
    return ObjectKey(meta.namespace, meta.name)


def controller_owner(obj: object) -> Any | None:
    """The ownerReference with ``controller: true``, or None (``metav1.GetControllerOf``).

    Returns the reference as the object carries it (a lightkube or a kubeweft
    ``OwnerReference``); both have ``apiVersion``, ``kind``, ``name`` and ``uid``.
    """
    for ref in _metadata(obj).ownerReferences or ():
        if ref.controller:
            return ref
    return None


def owner_reference(
    owner: object, *, controller: bool = True, block_owner_deletion: bool = True
) -> OwnerReference:
    """A reference to ``owner`` for a dependent's ``metadata.ownerReferences``.

    ``controller=True`` marks the owner as the managing controller; with
    ``block_owner_deletion`` foreground deletion of the owner waits for the dependent.
    """
    info = kind_info(type(owner))
    meta = _metadata(owner)
    if not meta.name or not meta.uid:
        raise ValueError("the owner must have been created (name and uid set)")
    return OwnerReference(
        apiVersion=info.api_version,
        kind=info.kind,
        name=meta.name,
        uid=meta.uid,
        controller=controller,
        blockOwnerDeletion=block_owner_deletion,
    )


def _metadata(obj: object) -> Any:
    meta = getattr(obj, "metadata", None)
    if meta is None:
        raise ValueError(f"{type(obj).__name__} has no metadata")
    return meta
