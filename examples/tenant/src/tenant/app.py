"""The tenant application: ``kubeweft run tenant.app:app``."""

import kubeweft

from tenant.api.v1alpha1 import Tenant
from tenant.controllers.tenant import TenantReconciler
from tenant.db import owners

app = kubeweft.App("tenant")
app.add_model(Tenant)
app.add_controller(Tenant, TenantReconciler)
# The project's own table: its revisions run with kubeweft's, its fields join the
# Tenant's REST detail and list (one query per page).
app.add_migrations("tenant.migrations")
app.add_detail_fields(Tenant, owners.OwnerFields, owners.load_owner_fields)
