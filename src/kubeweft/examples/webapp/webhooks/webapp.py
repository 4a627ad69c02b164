"""WebApp's defaulter and validator.

Defaulting: a WebApp without ``resources.requests`` gets cpu ``100m`` and memory
``128Mi``, so every pod it runs can be scheduled against a quota. Validation: the image
must name a tag other than ``latest`` (or a digest), so that what runs is what was
reviewed and a rollout is a change of the spec, not of the registry.
"""

from __future__ import annotations

from typing import Any

from kubeweft.api.admission import AdmissionRequest, CustomValidator, Denied, Warnings
from kubeweft.examples.webapp.api.v1 import ResourceRequirements, WebApp
from kubeweft.examples.webapp.api.v1.webapp_types import ResourceList

DEFAULT_CPU_REQUEST = "100m"
DEFAULT_MEMORY_REQUEST = "128Mi"


class WebAppDefaulter:
    async def default(self, request: AdmissionRequest, obj: Any) -> None:
        webapp: WebApp = obj
        resources = webapp.spec.resources or ResourceRequirements()
        if resources.requests is None:
            resources.requests = ResourceList(
                cpu=DEFAULT_CPU_REQUEST, memory=DEFAULT_MEMORY_REQUEST
            )
        webapp.spec.resources = resources


def image_tag(image: str) -> str | None:
    """The tag of an image reference (``None`` when it has none). A registry port
    (``registry:5000/app``) is not a tag; a digest (``app@sha256:...``) pins it."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def check_image(image: str) -> None:
    if "@" in image:
        return  # a digest names one image for good
    tag = image_tag(image)
    if tag is None:
        raise Denied.field("spec.image", f"{image!r} has no tag; name a version (app:1.2.3)")
    if tag == "latest":
        raise Denied.field("spec.image", f"{image!r} uses the latest tag; name a version")


class WebAppValidator(CustomValidator):
    async def validate_create(self, request: AdmissionRequest, obj: Any) -> Warnings:
        check_image(obj.spec.image)
        return []

    async def validate_update(self, request: AdmissionRequest, old: Any, new: Any) -> Warnings:
        # Only a changed image is checked: an object admitted before this rule existed
        # can still be relabelled, scaled, and released by its finalizer.
        if new.spec.image != old.spec.image:
            check_image(new.spec.image)
        return []
