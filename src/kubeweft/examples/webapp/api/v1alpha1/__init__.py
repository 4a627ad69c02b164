"""``kubeweft.dev/v1alpha1``: the reference model, WebApp."""

from kubeweft.examples.webapp.api.v1alpha1.webapp_types import (
    EnvVar,
    ResourceRequirements,
    WebApp,
    WebAppSpec,
    WebAppStatus,
)

GROUP = "kubeweft.dev"
VERSION = "v1alpha1"

__all__ = [
    "GROUP",
    "VERSION",
    "EnvVar",
    "ResourceRequirements",
    "WebApp",
    "WebAppSpec",
    "WebAppStatus",
]
