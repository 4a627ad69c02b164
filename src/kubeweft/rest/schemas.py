"""Request and response schemas, named by direction and generated per model.

``<Kind>Create`` (what a client sends to create), ``<Kind>Patch`` (a JSON merge patch),
``<Kind>Read`` (the detail view) and ``<Kind>ListItem`` are built from the model's own
spec and status classes — the same classes that generate the CRD's OpenAPI schema —
so the REST API validates exactly what the API server will accept, and a second model
gets its schemas without new code. Sub-resource schemas (history, metrics, annotations,
events) do not depend on the model and are declared once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema, create_model
from pydantic.alias_generators import to_camel
from pydantic.config import JsonDict

from kubeweft.api import CustomResource, names
from kubeweft.rest.dependencies import DNS1123_SUBDOMAIN
from kubeweft.views.detail_fields import DetailFields

__all__ = [
    "AnnotationCreate",
    "AnnotationRead",
    "EventRead",
    "HistoryRead",
    "MetricAggregateRead",
    "MetricPointRead",
    "MetricSeriesRead",
    "ModelSchemas",
    "RollbackCreate",
    "merge_patch_of",
    "schemas_for",
]


def _label_key(value: str) -> str:
    if not names.is_label_key(value):
        raise ValueError(
            "must be a label key: an optional DNS subdomain prefix (at most 253 characters) "
            "and '/', then a name of at most 63 alphanumerics, '-', '_' or '.', "
            "alphanumeric at both ends"
        )
    return value


# Kubernetes' label syntax, stated in the document (JSON Schema ``allOf`` of the flat
# patterns, see api.names) and checked here, so what validates is what the API server
# accepts.
LabelKey = Annotated[
    str,
    AfterValidator(_label_key),
    WithJsonSchema(
        {
            "type": "string",
            "minLength": 1,
            "maxLength": names.LABEL_KEY_MAX_LENGTH,
            "allOf": [{"pattern": pattern} for pattern in names.LABEL_KEY_PATTERNS],
            "description": "A label key: [DNS subdomain prefix (at most 253) '/'] name "
            "(at most 63 alphanumerics, '-', '_' or '.', alphanumeric at both ends).",
        }
    ),
]
LabelValue = Annotated[
    str, Field(max_length=names.LABEL_VALUE_MAX_LENGTH, pattern=names.LABEL_VALUE)
]


# One naming convention on the wire, as Kubernetes has it: every member of a body is
# camelCase (``resourceVersion``, ``healthScore``), like the ``spec`` and ``status`` it
# carries. Python code keeps snake_case names; the aliases are generated, bodies are
# written by alias, and a body is read by alias (or by name, for code that builds one).
_WIRE = ConfigDict(
    alias_generator=to_camel, serialize_by_alias=True, validate_by_alias=True, validate_by_name=True
)


class _Wire(BaseModel):
    model_config = _WIRE


class _Out(_Wire):
    model_config = ConfigDict(from_attributes=True)


class _In(_Wire):
    model_config = ConfigDict(extra="forbid")


class HistoryRead(_Out):
    generation: int
    spec: dict[str, Any] = Field(description="The spec of this generation, as stored.")
    patch: list[dict[str, Any]] | None = Field(
        description="RFC 6902 patch from the previous recorded generation's spec; "
        "null for the first."
    )
    actor: str | None = Field(description="Who made the change through the API, if known.")
    source: str
    created_at: datetime
    rolled_back_to: int | None = Field(
        default=None,
        description="Set when this generation was a rollback: the generation whose spec "
        "it wrote back (`POST .../rollback`).",
    )


class MetricAggregateRead(_Out):
    latest: float
    min: float
    max: float
    avg: float
    count: int
    latest_at: datetime


class MetricPointRead(_Out):
    value: float
    ts: datetime


class MetricSeriesRead(_Out):
    name: str
    value: float
    ts: datetime


class RollbackCreate(_In):
    """``POST .../rollback``: write a past generation's spec back."""

    generation: int = Field(
        ge=1,
        le=2**62,
        description="The generation whose recorded spec is written back (from `/history`).",
    )


class AnnotationCreate(_In):
    body: str = Field(min_length=1, max_length=10_000)


class AnnotationRead(_Out):
    id: int
    author: str
    body: str
    created_at: datetime


class EventRead(_Out):
    type: str | None
    reason: str | None
    message: str | None
    count: int | None
    first_timestamp: datetime | None
    last_timestamp: datetime | None
    source: str | None


@dataclass(frozen=True)
class ModelSchemas:
    create: type[BaseModel]
    patch: type[BaseModel]
    read: type[BaseModel]
    list_item: type[BaseModel]
    list_page: type[BaseModel]
    #: The members a project added to read and list-item bodies (python names).
    project_fields: tuple[str, ...] = ()


def _field_type(model: type[CustomResource], field: str) -> Any:
    info = model.model_fields[field]
    return info.annotation


def _no_default(schema: JsonDict) -> None:
    """Leave out a ``default: null`` that the field's own type does not allow."""
    schema.pop("default", None)


def merge_patch_of(model: type[BaseModel]) -> type[BaseModel]:
    """The JSON merge patch (RFC 7386) of ``model``, as a model of its own.

    Every field may be left out; a field with a default may be null (back to the
    default), a required one may not (it cannot be removed); a nested object is itself a
    merge patch, a list is replaced whole. Any patch this schema admits therefore merges
    into a valid object, so the document says what a PATCH will accept. Dump it with
    ``exclude_unset=True`` to get the patch document back.
    """
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        annotation: Any = _patch_type(info.annotation)
        if info.metadata:
            annotation = Annotated[(annotation, *info.metadata)]
        extra: Any = info.json_schema_extra
        if info.is_required():
            extra = _no_default
        else:
            annotation = annotation | None
        fields[name] = (
            annotation,
            Field(None, alias=info.alias, description=info.description, json_schema_extra=extra),
        )
    return create_model(
        f"{model.__name__}Patch",
        __config__=model.model_config,
        __doc__=f"A JSON merge patch of {model.__name__}: absent keys are kept.",
        **fields,
    )


def _patch_type(annotation: Any) -> Any:
    """A nested model's merge patch in place of the model (also inside ``X | None``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return merge_patch_of(annotation)
    args = get_args(annotation)
    if type(None) in args and len(args) == 2:
        inner = next(a for a in args if a is not type(None))
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            return merge_patch_of(inner)
    return annotation


def _project_members(declared: Sequence[DetailFields], taken: set[str]) -> dict[str, Any]:
    """The members a project adds to the read and list-item bodies (views.detail_fields)."""
    members: dict[str, Any] = {}
    for declaration in declared:
        for name, info in declaration.fields.model_fields.items():
            if name in taken or name in members:
                raise ValueError(
                    f"{declaration.fields.__qualname__}.{name}: the body already has a "
                    f"member {to_camel(name)!r}; name the field otherwise"
                )
            default = (
                Field(default_factory=info.default_factory, description=info.description)
                if info.default_factory is not None
                else Field(info.default, description=info.description)
            )
            members[name] = (info.annotation, default)
    return members


def schemas_for(model: type[CustomResource], extra: Sequence[DetailFields] = ()) -> ModelSchemas:
    kind = model.model_info.kind
    spec_type = _field_type(model, "spec")
    status_type = _field_type(model, "status") if "status" in model.model_fields else Any
    in_config = ConfigDict(**_WIRE, extra="forbid")
    labels_type = dict[LabelKey, LabelValue] | None
    rule = names.object_name_rule(model.model_info)
    name_field = (
        Field(min_length=1, max_length=253, pattern=DNS1123_SUBDOMAIN)
        if rule is None
        else Field(
            min_length=1,
            max_length=rule.max_length,
            pattern=rule.pattern,
            description=rule.description,
        )
    )

    # A cluster-scoped object has no namespace: its create body has none to give, and
    # it reads back as null.
    namespaced = model.model_info.namespaced
    where: dict[str, Any] = (
        {"namespace": (str, Field(min_length=1, max_length=63, pattern=names.DNS1123_LABEL))}
        if namespaced
        else {}
    )
    create = create_model(
        f"{kind}Create",
        __config__=in_config,
        __doc__=(
            f"Create a {kind}: its name, namespace, labels and spec."
            if namespaced
            else f"Create a {kind} (cluster-scoped): its name, labels and spec."
        ),
        name=(str, name_field),
        **where,
        labels=(labels_type, None),
        spec=(spec_type, ...),
    )
    patch = create_model(
        f"{kind}Patch",
        __config__=in_config,
        __doc__=(
            f"A JSON merge patch (RFC 7386) of a {kind}'s spec and labels: "
            "absent keys are kept, null removes a key."
        ),
        # Absent keeps the spec; null cannot remove it (a spec is required).
        spec=(merge_patch_of(spec_type), Field(None, json_schema_extra=_no_default)),
        labels=(dict[LabelKey, LabelValue | None] | None, None),
    )
    common: dict[str, Any] = {
        "uid": (str, ...),
        "name": (str, ...),
        "namespace": (str, ...) if namespaced else (None, None),
        "labels": (dict[str, str], Field(default_factory=dict)),
        "resource_version": (str, ...),
        "generation": (int | None, None),
        "created_at": (datetime | None, None),
        "deleting": (bool, False),
        "spec": (spec_type, ...),
        "status": (status_type | None, None),
        "health_score": (int, Field(ge=0, le=100)),
    }
    taken = {*common, "history", "metrics", "annotations", "latest_metrics"}
    own = _project_members(extra, taken)
    read = create_model(
        f"{kind}Read",
        __base__=_Out,
        __doc__=f"A {kind} joined with its database rows (the detail view).",
        **common,
        history=(
            list[HistoryRead],
            Field(description="The latest recorded generations of the spec, newest first."),
        ),
        metrics=(
            dict[str, MetricAggregateRead],
            Field(description="Per metric name, aggregates over the last 5 minutes."),
        ),
        annotations=(list[AnnotationRead], ...),
        **own,
    )
    list_item = create_model(
        f"{kind}ListItem",
        __base__=_Out,
        __doc__=f"A {kind} with its latest metric samples.",
        **common,
        latest_metrics=(dict[str, MetricPointRead], ...),
        **own,
    )
    list_page = create_model(
        f"{kind}List",
        __base__=_Out,
        __doc__=f"One page of {model.model_info.plural}.",
        items=(list[list_item], ...),
        continue_=(
            str | None,
            Field(
                None,
                alias="continue",
                serialization_alias="continue",
                description="Pass as ?continue= to get the next page; null on the last page.",
            ),
        ),
    )
    return ModelSchemas(create, patch, read, list_item, list_page, tuple(own))
