"""Object metadata and status conditions, shaped as the Kubernetes API conventions say.

Metadata keeps Kubernetes' own camelCase field names (``resourceVersion``,
``ownerReferences``) on purpose: lightkube's core types use the same names, so the
runtime reads ``obj.metadata.resourceVersion`` the same way for a Deployment and for
a custom resource.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class OwnerReference(BaseModel):
    model_config = ConfigDict(extra="ignore")

    apiVersion: str
    kind: str
    name: str
    uid: str
    controller: bool | None = None
    blockOwnerDeletion: bool | None = None


class ObjectMeta(BaseModel):
    """The subset of ``metav1.ObjectMeta`` that clients read and write."""

    model_config = ConfigDict(extra="ignore")

    name: str | None = None
    generateName: str | None = None
    namespace: str | None = None
    uid: str | None = None
    resourceVersion: str | None = None
    generation: int | None = None
    creationTimestamp: datetime | None = None
    deletionTimestamp: datetime | None = None
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    ownerReferences: list[OwnerReference] | None = None
    finalizers: list[str] | None = None


class ConditionStatus(StrEnum):
    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class Condition(BaseModel):
    """``metav1.Condition``: one observation of one aspect of the object's state."""

    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True, extra="ignore")

    type: str = Field(
        pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$",
        max_length=316,
    )
    status: ConditionStatus
    observed_generation: int | None = Field(default=None, ge=0)
    last_transition_time: datetime
    reason: str = Field(
        pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$", min_length=1, max_length=1024
    )
    message: str = Field(default="", max_length=32768)
