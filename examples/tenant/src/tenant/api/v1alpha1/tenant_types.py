"""Tenant: a team's namespace, its quota and who may edit in it (cluster-scoped)."""

from __future__ import annotations

from kubeweft.api import (
    Condition,
    CustomResource,
    ModelInfo,
    PolicyRule,
    PrinterColumn,
    ResourceModel,
    list_map,
)
from pydantic import Field

#: A Kubernetes quantity as a ResourceQuota accepts it: ``4``, ``500m``, ``8Gi``.
QUANTITY = r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$"


class TenantSpec(ResourceModel):
    owners: list[str] = Field(
        min_length=1,
        max_length=50,
        description="User names granted the edit role in the tenant's namespace.",
    )
    cpu: str = Field(pattern=QUANTITY, description="CPU the namespace may request, e.g. 4.")
    memory: str = Field(pattern=QUANTITY, description="Memory it may request, e.g. 8Gi.")


class TenantStatus(ResourceModel):
    namespace: str = Field(default="", description="The tenant's namespace, once created.")
    conditions: list[Condition] = Field(default_factory=list, json_schema_extra=list_map("type"))


class Tenant(CustomResource):
    """A team's slice of the cluster: a namespace of the same name, a quota, a binding."""

    model_info = ModelInfo(
        group="tenancy.example.com",
        version="v1alpha1",
        kind="Tenant",
        plural="tenants",
        singular="tenant",
        namespaced=False,
        printer_columns=(
            PrinterColumn("CPU", ".spec.cpu"),
            PrinterColumn("Memory", ".spec.memory"),
        ),
        owns=(
            ("v1", "namespaces"),
            ("v1", "resourcequotas"),
            ("rbac.authorization.k8s.io/v1", "rolebindings"),
        ),
        rbac=(
            # The registry ConfigMap kube-public/tenants: created once, then read and
            # patched by name (create cannot be restricted to a name).
            PolicyRule(("",), ("configmaps",), ("create",)),
            PolicyRule(("",), ("configmaps",), ("get", "patch"), resource_names=("tenants",)),
            # A RoleBinding to the edit ClusterRole needs edit's permissions or bind on it.
            PolicyRule(("rbac.authorization.k8s.io",), ("clusterroles",), ("bind",), ("edit",)),
        ),
    )

    spec: TenantSpec
    status: TenantStatus = Field(default_factory=TenantStatus)
