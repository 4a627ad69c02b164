"""How a model (a CustomResourceDefinition) is declared in Python.

A model is a pydantic class for its spec, one for its status, and a
:class:`ModelInfo` naming its group, version and kind. Everything else — the CRD
manifest, RBAC, typed client access, REST endpoints — is derived from that one
declaration (kubebuilder's ``api/<version>/<kind>_types.go``).
"""

from kubeweft.api.meta import Condition, ConditionStatus, ObjectMeta, OwnerReference
from kubeweft.api.model import (
    CustomResource,
    ModelInfo,
    PolicyRule,
    PrinterColumn,
    ResourceModel,
    ScaleSubresource,
    list_map,
)

__all__ = [
    "Condition",
    "ConditionStatus",
    "CustomResource",
    "ModelInfo",
    "ObjectMeta",
    "OwnerReference",
    "PolicyRule",
    "PrinterColumn",
    "ResourceModel",
    "ScaleSubresource",
    "list_map",
]
