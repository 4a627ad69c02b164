"""``tenancy.example.com/v1alpha1``."""

from tenant.api.v1alpha1.tenant_types import Tenant, TenantSpec, TenantStatus

__all__ = ["Tenant", "TenantSpec", "TenantStatus"]
