"""``kubeweft.dev/v1``: the reference model, WebApp, in its stored version (the hub)."""

from kubeweft.examples.webapp.api.v1.webapp_types import (
    EnvVar,
    ResourceList,
    ResourceRequirements,
    WebApp,
    WebAppPort,
    WebAppSpec,
    WebAppStatus,
)

GROUP = "kubeweft.dev"
VERSION = "v1"

__all__ = [
    "GROUP",
    "VERSION",
    "EnvVar",
    "ResourceList",
    "ResourceRequirements",
    "WebApp",
    "WebAppPort",
    "WebAppSpec",
    "WebAppStatus",
]
