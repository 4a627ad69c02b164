"""Several versions of one model: a hub (the storage version) and its spokes.

controller-runtime's conversion model, in Python: one version of a model is the *hub*
(``conversion.Hub``), the version the API server stores and the one the controller,
the cache and the REST layer work in. Every other served version is a *spoke*
(``conversion.Convertible``) that knows how to turn itself into the hub and back:

    class Store(CustomResource):             # api/v1alpha1, a spoke of v1.Store
        model_info = ModelInfo(group=..., version="v1alpha1", kind="Store", ...)

        def convert_to(self, restored: v1.Store | None) -> v1.Store: ...

        @classmethod
        def convert_from(cls, hub: v1.Store) -> Self: ...

    app.add_model(v1.Store, spokes=(v1alpha1.Store,))

Conversions return new objects instead of filling in a destination as Go's do: a
pydantic model is built whole, and a spoke never sees a half-written hub.

A spoke may be unable to express part of the hub (a list in the hub where the spoke has
a single field: the list's other items have no place in the spoke). As Kubernetes' own
conversions do, that part survives in an annotation: when the hub → spoke → hub round
trip would lose something, the hub object's fields are written to
:data:`CONVERSION_DATA` on the spoke, and the next conversion back passes them to
``convert_to`` as ``restored`` (cluster-api's ``MarshalData``/``UnmarshalData``). The
spoke decides what to take from it: what it cannot express, never what its own fields
say. The annotation is never on the hub.

Only ``spec``, ``status`` and the other top-level fields are converted. ``metadata``
goes through unchanged except for that annotation: the API server refuses a conversion
that changes any other part of it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, Self, cast

import pydantic

from kubeweft.api.model import CustomResource

__all__ = ["CONVERSION_DATA", "CONVERT_PATH", "Conversion", "ConversionError", "Convertible"]

#: Where the webhook server answers ConversionReviews (kubebuilder's path).
CONVERT_PATH = "/convert"
#: The hub's fields a spoke cannot express, as JSON, on an object read through the spoke.
CONVERSION_DATA = "kubeweft.dev/conversion-data"
_ENVELOPE = ("apiVersion", "kind", "metadata")


class ConversionError(ValueError):
    """An object that cannot be converted (unknown version, invalid for its version)."""


class Convertible(Protocol):
    """A spoke: converts itself to the hub and is built from one."""

    def convert_to(self, restored: Any) -> CustomResource:
        """The hub object this one stands for. ``restored`` is the hub object as it was
        last written through the hub version (from :data:`CONVERSION_DATA`), or ``None``:
        take from it only what this version cannot express."""
        ...

    @classmethod
    def convert_from(cls, hub: Any) -> Self:
        """This version of ``hub``."""
        ...


@dataclass(frozen=True)
class Conversion:
    """A hub and its spokes: the versions of one CRD, and how an object moves between
    them."""

    hub: type[CustomResource]
    spokes: tuple[type[CustomResource], ...]

    def __post_init__(self) -> None:
        info = self.hub.model_info
        seen = {info.version}
        for spoke in self.spokes:
            other = spoke.model_info
            if (other.group, other.kind, other.plural) != (info.group, info.kind, info.plural):
                raise ValueError(
                    f"{spoke.__qualname__} ({other.api_version} {other.kind}) is no version "
                    f"of {info.kind} in {info.group}: a spoke has its hub's group, kind "
                    "and plural"
                )
            if other.version in seen:
                raise ValueError(f"version {other.version} of {info.kind} is declared twice")
            if other.namespaced != info.namespaced:
                raise ValueError(f"{spoke.__qualname__} and its hub differ in scope")
            for method in ("convert_to", "convert_from"):
                if not callable(getattr(spoke, method, None)):
                    raise TypeError(f"the spoke {spoke.__qualname__} has no {method}()")
            seen.add(other.version)

    @property
    def versions(self) -> tuple[type[CustomResource], ...]:
        """Every version, the hub first."""
        return (self.hub, *self.spokes)

    def model_for(self, api_version: str) -> type[CustomResource]:
        for model in self.versions:
            if model.model_info.api_version == api_version:
                return model
        known = ", ".join(m.model_info.api_version for m in self.versions)
        raise ConversionError(
            f"{self.hub.model_info.kind} has no version {api_version!r} (served: {known})"
        )

    def convert(self, obj: dict[str, Any], desired_api_version: str) -> dict[str, Any]:
        """``obj`` (any version of this model) as ``desired_api_version``."""
        source = self.model_for(str(obj.get("apiVersion", "")))
        target = self.model_for(desired_api_version)
        if source is target:
            return obj
        try:
            hub = self._to_hub(source, obj)
            converted = self._from_hub(target, hub)
        except pydantic.ValidationError as error:
            raise ConversionError(_validation_message(error)) from None
        metadata = dict(obj.get("metadata") or {})
        annotations = dict(metadata.get("annotations") or {})
        annotations.pop(CONVERSION_DATA, None)
        if target is not self.hub:
            lost = self._lost(cast(Convertible, converted), hub)
            if lost is not None:
                annotations[CONVERSION_DATA] = lost
        if annotations:
            metadata["annotations"] = annotations
        else:
            metadata.pop("annotations", None)
        body = _fields(converted)
        if "status" not in obj:
            body.pop("status", None)
        return {
            "apiVersion": desired_api_version,
            "kind": obj.get("kind"),
            "metadata": metadata,
            **body,
        }

    def _to_hub(self, source: type[CustomResource], obj: dict[str, Any]) -> CustomResource:
        if source is self.hub:
            return self.hub.model_validate(obj)
        spoke = cast(Convertible, source.model_validate(obj))
        restored = None
        data = ((obj.get("metadata") or {}).get("annotations") or {}).get(CONVERSION_DATA)
        if data:
            try:
                fields = json.loads(data)
            except ValueError:
                raise ConversionError(f"the annotation {CONVERSION_DATA} is no JSON") from None
            if not isinstance(fields, dict):
                raise ConversionError(f"the annotation {CONVERSION_DATA} is no JSON object")
            restored = self.hub.model_validate({"metadata": obj.get("metadata") or {}, **fields})
        hub = spoke.convert_to(restored)
        if not isinstance(hub, self.hub):
            raise TypeError(f"{source.__qualname__}.convert_to returned no {self.hub.__qualname__}")
        return hub

    def _from_hub(self, target: type[CustomResource], hub: CustomResource) -> CustomResource:
        if target is self.hub:
            return hub
        spoke = cast(type[Convertible], target).convert_from(hub)
        return cast(CustomResource, spoke)

    def _lost(self, converted: Convertible, hub: CustomResource) -> str | None:
        """The hub's fields as JSON when the spoke cannot give them back, else ``None``."""
        back = converted.convert_to(None)
        wanted = _fields(hub)
        if _fields(back) == wanted:
            return None
        return json.dumps(wanted, sort_keys=True, separators=(",", ":"))


def conversions_by_kind(conversions: Sequence[Conversion]) -> dict[tuple[str, str], Conversion]:
    """``(group, kind) → Conversion``, how a ConversionReview's objects are looked up."""
    return {(c.hub.model_info.group, c.hub.model_info.kind): c for c in conversions}


def _fields(obj: CustomResource) -> dict[str, Any]:
    return {k: v for k, v in obj.to_dict().items() if k not in _ENVELOPE}


def _validation_message(error: pydantic.ValidationError) -> str:
    parts = []
    for item in error.errors()[:5]:
        where = ".".join(str(part) for part in item["loc"])
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)
