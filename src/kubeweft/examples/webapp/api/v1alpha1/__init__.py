"""``kubeweft.dev/v1alpha1``: WebApp's first version, served and converted to ``v1``."""

from kubeweft.examples.webapp.api.v1alpha1.webapp_types import WebApp, WebAppSpec

GROUP = "kubeweft.dev"
VERSION = "v1alpha1"

__all__ = ["GROUP", "VERSION", "WebApp", "WebAppSpec"]
