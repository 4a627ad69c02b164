"""The tenant application: ``kubeweft run tenant.app:app``."""

import kubeweft

from tenant.api.v1alpha1 import Tenant
from tenant.controllers.tenant import TenantReconciler

app = kubeweft.App("tenant")
app.add_model(Tenant)
app.add_controller(Tenant, TenantReconciler)
