"""WebApp ``v1`` (the hub, stored): a container image served by a Deployment behind a
Service, on one or more named ports.

``spec.replicas`` is what the user wants; ``status.readyReplicas`` is what exists now.
``spec.ports`` is a map list keyed by name: server-side apply merges it port by port,
and an update may add or remove a port but not rename one (a CEL transition rule).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, ConfigDict, Field, JsonValue

from kubeweft.api.meta import Condition
from kubeweft.api.model import (
    CustomResource,
    ModelInfo,
    PrinterColumn,
    ResourceModel,
    ScaleSubresource,
    list_map,
)
from kubeweft.api.validation import Rule, validations

# RFC 1123 label/subdomain rules are enforced by the API server on names; env var
# names follow the C identifier rule Kubernetes recommends.
EnvName = Annotated[
    str, Field(min_length=1, max_length=253, pattern=r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
]


def _json_integer(value: object) -> object:
    """Refuse what lax validation would turn into an int but JSON Schema calls no integer
    (true/false, "3"); 3.0 is an integer in JSON Schema and stays accepted."""
    if isinstance(value, bool | str):
        raise ValueError("must be an integer")
    return value


Integer = Annotated[int, BeforeValidator(_json_integer)]
Quantity = Annotated[
    str, Field(pattern=r"^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$", max_length=32)
]


class EnvVar(ResourceModel):
    name: EnvName
    value: str = Field(default="", max_length=32768)


class ResourceList(ResourceModel):
    cpu: Quantity | None = None
    memory: Quantity | None = None


def _not_above_limit(resource: str) -> Rule:
    """A request may not exceed the limit of the same resource (the kubelet would refuse
    the pod; the API server now refuses the WebApp)."""
    both = (
        f"has(self.requests) && has(self.requests.{resource}) && "
        f"has(self.limits) && has(self.limits.{resource})"
    )
    compare = f"quantity(self.requests.{resource}).compareTo(quantity(self.limits.{resource}))"
    return Rule(
        f"!({both}) || {compare} <= 0",
        message_expression=(
            f"'requests.{resource} ' + self.requests.{resource} + "
            f"' exceeds limits.{resource} ' + self.limits.{resource}"
        ),
        field_path=f".requests.{resource}",
    )


class ResourceRequirements(ResourceModel):
    model_config = ConfigDict(
        json_schema_extra=validations(_not_above_limit("cpu"), _not_above_limit("memory"))
    )

    requests: ResourceList | None = None
    limits: ResourceList | None = None


class WebAppPort(ResourceModel):
    """A port the container listens on, exposed by the Service under the same name."""

    # An IANA service name, as a container port's name must be.
    name: str = Field(min_length=1, max_length=15, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    port: Integer = Field(ge=1, le=65535)
    protocol: Literal["TCP", "UDP", "SCTP"] = "TCP"


#: A port keeps its name: an update may not give a port (number and protocol) that was
#: already there another name. Two nested ``all`` over at most 16 ports each: cheap.
PORT_NAMES_KEPT = Rule(
    "self.all(new, oldSelf.all(old, "
    "old.port != new.port || old.protocol != new.protocol || old.name == new.name))",
    message="a port's name cannot change; remove the port and add it under the new name "
    "in two updates",
)
DEFAULT_PORTS: list[JsonValue] = [{"name": "http", "port": 8080, "protocol": "TCP"}]


class WebAppSpec(ResourceModel):
    image: str = Field(min_length=1, max_length=512, description="Container image to run.")
    replicas: Integer = Field(default=1, ge=0, le=100, description="Desired number of pods.")
    ports: list[WebAppPort] = Field(
        default_factory=lambda: [WebAppPort.model_validate(p) for p in DEFAULT_PORTS],
        min_length=1,
        max_length=16,
        description="Ports the container listens on (http 8080 if none is given).",
        json_schema_extra={
            **list_map("name"),
            **validations(PORT_NAMES_KEPT),
            "default": DEFAULT_PORTS,
        },
    )
    env: list[EnvVar] = Field(
        default_factory=list, max_length=100, json_schema_extra=list_map("name")
    )
    resources: ResourceRequirements | None = None


class WebAppStatus(ResourceModel):
    replicas: int = 0
    ready_replicas: int = 0
    available_replicas: int = 0
    observed_generation: int = 0
    conditions: list[Condition] = Field(default_factory=list, json_schema_extra=list_map("type"))
    service_name: str | None = None


class WebApp(CustomResource):
    model_info = ModelInfo(
        group="kubeweft.dev",
        version="v1",
        kind="WebApp",
        plural="webapps",
        singular="webapp",
        short_names=("wa",),
        categories=("kubeweft",),
        printer_columns=(
            PrinterColumn("Image", ".spec.image"),
            PrinterColumn("Desired", ".spec.replicas", "integer"),
            PrinterColumn("Ready", ".status.readyReplicas", "integer"),
            PrinterColumn("Age", ".metadata.creationTimestamp", "date"),
        ),
        scale=ScaleSubresource(),
        owns=(("apps/v1", "deployments"), ("v1", "services")),
    )

    spec: WebAppSpec
    status: WebAppStatus = Field(default_factory=WebAppStatus)
