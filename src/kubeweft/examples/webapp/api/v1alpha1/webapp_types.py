"""WebApp: a container image served by a Deployment behind a Service.

``spec.replicas`` is what the user wants; ``status.readyReplicas`` is what exists now.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, ConfigDict, Field

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


class WebAppSpec(ResourceModel):
    image: str = Field(min_length=1, max_length=512, description="Container image to run.")
    replicas: Integer = Field(default=1, ge=0, le=100, description="Desired number of pods.")
    port: Integer = Field(
        default=8080, ge=1, le=65535, description="Port the container listens on."
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
        version="v1alpha1",
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
