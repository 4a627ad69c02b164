"""The base class of every model and the metadata that names it.

``CustomResource`` subclasses declare ``spec`` and ``status`` fields with pydantic
types and a ``model_info`` class variable. Field names are Pythonic (snake_case) and
serialise as camelCase, as Kubernetes expects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from pydantic.config import JsonDict

from kubeweft.api.meta import ObjectMeta


@dataclass(frozen=True)
class PrinterColumn:
    """An ``additionalPrinterColumns`` entry: what ``kubectl get`` shows."""

    name: str
    json_path: str
    type: Literal["string", "integer", "number", "boolean", "date"] = "string"
    description: str = ""
    priority: int = 0


@dataclass(frozen=True)
class PolicyRule:
    """A grant the model's controller needs beyond its own kind and the kinds it owns
    (kubebuilder's ``+kubebuilder:rbac`` marker): a shared object it reads and writes, or
    a role it binds. ``kubeweft manifests`` adds it to the controller's ClusterRole."""

    api_groups: tuple[str, ...]  # "" is the core group
    resources: tuple[str, ...]
    verbs: tuple[str, ...]
    #: Only these objects (not usable with ``create``, ``list``, ``watch``).
    resource_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.api_groups or not self.resources or not self.verbs:
            raise ValueError("a PolicyRule needs api_groups, resources and verbs")
        unnamed = {"create", "list", "watch", "deletecollection"} & set(self.verbs)
        if self.resource_names and unnamed:
            raise ValueError(
                f"resource_names cannot restrict {sorted(unnamed)}: the API server "
                "checks those verbs without a name; grant them in a rule of their own"
            )


@dataclass(frozen=True)
class ScaleSubresource:
    """Enables ``kubectl scale`` and HorizontalPodAutoscalers on the model."""

    spec_replicas_path: str = ".spec.replicas"
    status_replicas_path: str = ".status.replicas"
    label_selector_path: str | None = None


@dataclass(frozen=True)
class ModelInfo:
    """Group, version and kind of a model, plus how it is served."""

    group: str
    version: str
    kind: str
    plural: str
    singular: str = ""
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    # False: a cluster-scoped model (CRD scope Cluster, REST routes without a namespace,
    # access checked cluster-wide).
    namespaced: bool = True
    printer_columns: tuple[PrinterColumn, ...] = ()
    scale: ScaleSubresource | None = None
    # Kinds the model's controller creates and owns. The generated RBAC grants them, and
    # ControllerBuilder.for_(Model) watches them (each change enqueues the controller
    # owner), so an owned kind is declared here only.
    owns: tuple[tuple[str, str], ...] = field(default=())  # (apiVersion, plural)
    # Further grants its controller needs (a shared ConfigMap, a role it binds).
    rbac: tuple[PolicyRule, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"

    @property
    def crd_name(self) -> str:
        return f"{self.plural}.{self.group}"


def list_map(*keys: str) -> JsonDict:
    """Schema extras for a list whose items are identified by ``keys`` (a *map list*).

    Pass as ``Field(json_schema_extra=list_map("name"))``; the CRD then says
    ``x-kubernetes-list-type: map`` (controller-gen's ``+listType=map``), so server-side
    apply merges items by key instead of replacing the whole list. The keys must be
    required (or defaulted) scalar fields of the item.
    """
    return {"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": list(keys)}


class ResourceModel(BaseModel):
    """Base for spec and status classes: snake_case in Python, camelCase on the wire."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="forbid",
    )


class CustomResource(BaseModel):
    """A typed custom resource. Subclasses add ``spec`` and ``status`` fields."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="ignore",
    )

    model_info: ClassVar[ModelInfo]

    api_version: str = ""
    kind: str = ""
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)

    def model_post_init(self, context: object, /) -> None:
        info = type(self).model_info
        if not self.api_version:
            self.api_version = info.api_version
        if not self.kind:
            self.kind = info.kind

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Self:
        return cls.model_validate(data)

    def to_dict(self) -> dict[str, object]:
        """The object as the API server expects it (camelCase, no nulls)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
