"""WebApp ``v1alpha1``: still served, converted to and from ``v1`` (the hub).

v1alpha1 has one ``port``; v1 has ``ports``, a list of named ports. ``port: 8080`` is
``ports: [{name: http, port: 8080}]``. A WebApp written through v1 with more ports, or
with another name for its first port, shows its first port here, and the rest comes
back from the conversion annotation when it is converted to v1 again, so a round trip
through v1alpha1 loses nothing. The other fields are the same in both versions.
"""

from __future__ import annotations

from typing import Self

from pydantic import Field

from kubeweft.api.model import CustomResource, ModelInfo, ResourceModel, list_map
from kubeweft.examples.webapp.api import v1
from kubeweft.examples.webapp.api.v1.webapp_types import (
    EnvVar,
    Integer,
    ResourceRequirements,
    WebAppStatus,
)

#: The name v1 gives the port of a v1alpha1 WebApp.
PORT_NAME = "http"


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


class WebApp(CustomResource):
    model_info = ModelInfo(
        group="kubeweft.dev",
        version="v1alpha1",
        kind="WebApp",
        plural="webapps",
        singular="webapp",
        short_names=("wa",),
        categories=("kubeweft",),
        printer_columns=v1.WebApp.model_info.printer_columns,
        scale=v1.WebApp.model_info.scale,
    )

    spec: WebAppSpec
    status: WebAppStatus = Field(default_factory=WebAppStatus)

    def convert_to(self, restored: v1.WebApp | None) -> v1.WebApp:
        first = v1.WebAppPort(name=PORT_NAME, port=self.spec.port)
        ports = [first]
        if restored is not None and restored.spec.ports:
            # The first port keeps its v1 name and protocol; the others come back as
            # they were unless this version's port now stands where one of them was.
            kept = restored.spec.ports[0]
            first.name, first.protocol = kept.name, kept.protocol
            ports += [
                p
                for p in restored.spec.ports[1:]
                if p.name != first.name and (p.port, p.protocol) != (first.port, first.protocol)
            ]
        spec = v1.WebAppSpec(
            image=self.spec.image,
            replicas=self.spec.replicas,
            ports=ports,
            env=self.spec.env,
            resources=self.spec.resources,
        )
        return v1.WebApp(metadata=self.metadata, spec=spec, status=self.status)

    @classmethod
    def convert_from(cls, hub: v1.WebApp) -> Self:
        spec = WebAppSpec(
            image=hub.spec.image,
            replicas=hub.spec.replicas,
            port=hub.spec.ports[0].port,
            env=hub.spec.env,
            resources=hub.spec.resources,
        )
        return cls(metadata=hub.metadata, spec=spec, status=hub.status)
