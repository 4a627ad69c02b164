"""The applied state a WebApp's Deployment carries: which generation built it, from what.

The change history itself is the framework's (one row per generation for every model,
``controllerutil.reconcile_log``). What stays here is the small state machine the
Deployment's annotations hold. Each time the reconciler builds the Deployment from
generation G it stamps the *applied state* in the same write that changes the pod
template: G, the image and replicas G asked for, who made the change, and the image and
replicas of the generation applied before it. Because this is one atomic write guarded
by the Deployment's resourceVersion, the annotations always describe exactly the
Deployment the cluster holds; the reconciler uses them to notice a cache that is behind
its own last write (an applied generation newer than the cached WebApp) and to say what
changed. A drift revert within the same generation keeps the annotations. See
``docs/design/webapp-controller.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from kubeweft.examples.webapp.api.v1 import WebApp

__all__ = [
    "ANNOTATION_CHANGED_BY",
    "ANNOTATION_GENERATION",
    "ANNOTATION_IMAGE",
    "ANNOTATION_PREVIOUS_IMAGE",
    "ANNOTATION_PREVIOUS_REPLICAS",
    "ANNOTATION_REPLICAS",
    "AppliedState",
    "next_applied_state",
]

ANNOTATION_GENERATION = "kubeweft.dev/generation"
ANNOTATION_IMAGE = "kubeweft.dev/image"
ANNOTATION_REPLICAS = "kubeweft.dev/replicas"
ANNOTATION_PREVIOUS_IMAGE = "kubeweft.dev/previous-image"
ANNOTATION_PREVIOUS_REPLICAS = "kubeweft.dev/previous-replicas"
ANNOTATION_CHANGED_BY = "kubeweft.dev/changed-by"

_KEYS = (
    ANNOTATION_GENERATION,
    ANNOTATION_IMAGE,
    ANNOTATION_REPLICAS,
    ANNOTATION_PREVIOUS_IMAGE,
    ANNOTATION_PREVIOUS_REPLICAS,
    ANNOTATION_CHANGED_BY,
)


@dataclass(frozen=True, slots=True)
class AppliedState:
    """Which WebApp generation the Deployment was built from, with what, and before what.

    ``previous_image``/``previous_replicas`` are None when ``generation`` created the
    Deployment (there was nothing before it).
    """

    generation: int
    image: str
    replicas: int
    previous_image: str | None = None
    previous_replicas: int | None = None
    changed_by: str | None = None

    @property
    def changed_image_or_replicas(self) -> bool:
        return (self.image, self.replicas) != (self.previous_image, self.previous_replicas)

    def to_annotations(self) -> dict[str, str]:
        """The annotations that store this state; every key is written (empty = none)."""
        return {
            ANNOTATION_GENERATION: str(self.generation),
            ANNOTATION_IMAGE: self.image,
            ANNOTATION_REPLICAS: str(self.replicas),
            ANNOTATION_PREVIOUS_IMAGE: self.previous_image or "",
            ANNOTATION_PREVIOUS_REPLICAS: (
                "" if self.previous_replicas is None else str(self.previous_replicas)
            ),
            ANNOTATION_CHANGED_BY: self.changed_by or "",
        }

    @classmethod
    def from_annotations(cls, annotations: Mapping[str, str] | None) -> AppliedState | None:
        """The state stored on a Deployment, or None if absent or unreadable."""
        values = annotations or {}
        if ANNOTATION_GENERATION not in values:
            return None
        try:
            generation = int(values[ANNOTATION_GENERATION])
            replicas = int(values[ANNOTATION_REPLICAS])
            previous = values.get(ANNOTATION_PREVIOUS_REPLICAS) or ""
            previous_replicas = int(previous) if previous else None
        except (KeyError, ValueError):
            return None
        image = values.get(ANNOTATION_IMAGE) or ""
        if not image:
            return None
        return cls(
            generation=generation,
            image=image,
            replicas=replicas,
            previous_image=values.get(ANNOTATION_PREVIOUS_IMAGE) or None,
            previous_replicas=previous_replicas,
            changed_by=values.get(ANNOTATION_CHANGED_BY) or None,
        )


def next_applied_state(
    current: AppliedState | None,
    webapp: WebApp,
    *,
    actor: str | None,
    live_image: str | None = None,
    live_replicas: int | None = None,
) -> AppliedState:
    """The state to stamp on the Deployment when building it from ``webapp``.

    ``current`` is what the live Deployment carries (None when there is no Deployment,
    or one without our annotations — then ``live_image``/``live_replicas``, read from
    its pod template, stand in as the previous values). The same generation keeps its
    stamp (a drift revert is not a new change); a newer one moves the applied values
    to ``previous``.
    """
    generation = webapp.metadata.generation or 0
    image, replicas = webapp.spec.image, webapp.spec.replicas
    if current is not None and current.generation == generation:
        return replace(current, image=image, replicas=replicas)
    if current is not None:
        previous_image: str | None = current.image
        previous_replicas: int | None = current.replicas
    else:
        previous_image, previous_replicas = live_image, live_replicas
    return AppliedState(
        generation=generation,
        image=image,
        replicas=replicas,
        previous_image=previous_image,
        previous_replicas=previous_replicas,
        changed_by=actor,
    )
