"""Reconcile a Tenant: its Namespace, ResourceQuota and RoleBinding, and the registry.

The three objects live and die with the Tenant: each carries it as controller owner, so
the garbage collector deletes them (the Namespace, and everything in it) after the
Tenant. The registry — the ConfigMap ``kube-public/tenants``, one key per tenant, which
other tools read to list tenants — is shared by all tenants: no single Tenant can own
it, so the garbage collector would leave a deleted tenant's key behind. Nor would it
touch the project's own table, ``tenant_owners`` (who owns the tenant, since when),
which the reconciler keeps in step with the owners. A finalizer keeps a deleted Tenant
until its rows and its key have been removed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import kubeweft
from kubeweft import controllerutil
from kubeweft.api import Condition, ConditionStatus
from kubeweft.runtime import errors
from kubeweft.runtime.reconcile import Request, Result
from lightkube.models.core_v1 import ResourceQuotaSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.models.rbac_v1 import RoleRef, Subject
from lightkube.resources.core_v1 import ConfigMap, Namespace, ResourceQuota
from lightkube.resources.rbac_authorization_v1 import RoleBinding
from lightkube.utils.quantity import parse_quantity

from tenant.api.v1alpha1 import Tenant
from tenant.db import owners

FINALIZER = "tenancy.example.com/registry"
REGISTRY = ("kube-public", "tenants")  # (namespace, name) of the shared ConfigMap
QUOTA_NAME = "tenant-quota"
BINDING_NAME = "tenant-owners"
#: The ClusterRole the owners get in their namespace (a Kubernetes default role).
OWNER_ROLE = "edit"
#: What a Namespace may be called (an RFC 1123 label); a Tenant's name may have dots.
NAMESPACE_NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


class TenantReconciler:
    def __init__(self, context: kubeweft.ControllerContext) -> None:
        self.client = controllerutil.DelegatingClient(context.cache, context.client)
        self.api = context.client  # the registry is read and written live, not cached
        self.events = context.events
        self.database = context.database  # the project's own table, tenant_owners

    async def reconcile(self, request: Request) -> Result:
        try:
            tenant = await self.client.get(Tenant, request.name)
        except errors.NotFound:
            return Result()  # gone: its finalizer has run, the GC removes the rest
        done = await controllerutil.handle_finalizer(
            self.api, tenant, FINALIZER, self.cleanup, events=self.events
        )
        if done.deleting:
            return Result()
        original = tenant.model_copy(deep=True)
        name = request.name
        if not NAMESPACE_NAME.fullmatch(name):
            # No retry can help: a name never changes. Say so once and wait for deletion.
            message = f"{name!r} cannot name a namespace (lower-case letters, digits, '-')"
            ready = ready_condition(tenant, ConditionStatus.FALSE, "InvalidName", message)
            controllerutil.set_status_condition(tenant.status.conditions, ready)
            await controllerutil.patch_status(self.client, tenant, original)
            return Result()

        await controllerutil.create_or_update(
            self.client, Namespace(metadata=ObjectMeta(name=name)), _keep, owner=tenant
        )
        await controllerutil.create_or_update(
            self.client,
            ResourceQuota(metadata=ObjectMeta(name=QUOTA_NAME, namespace=name)),
            quota_mutation(tenant),
            owner=tenant,
        )
        await controllerutil.create_or_update(
            self.client,
            RoleBinding(
                metadata=ObjectMeta(name=BINDING_NAME, namespace=name),
                roleRef=role_ref(),
            ),
            binding_mutation(tenant),
            owner=tenant,
        )
        await self.register(tenant)
        await self.record_owners(tenant)

        tenant.status.namespace = name
        message = f"namespace {name} with its quota and owners"
        ready = ready_condition(tenant, ConditionStatus.TRUE, "Provisioned", message)
        controllerutil.set_status_condition(tenant.status.conditions, ready)
        await controllerutil.patch_status(self.client, tenant, original)
        return Result()

    async def register(self, tenant: Tenant) -> None:
        """Write the tenant's key in the registry (creating the registry if need be)."""
        namespace, name = REGISTRY
        entry = registry_entry(tenant)
        try:
            registry = await self.api.get(ConfigMap, name, namespace)
        except errors.NotFound:
            data = {tenant.metadata.name: entry}
            await self.api.create(
                ConfigMap(metadata=ObjectMeta(name=name, namespace=namespace), data=data)
            )
            return
        if (registry.data or {}).get(tenant.metadata.name) != entry:
            patch = {"data": {tenant.metadata.name: entry}}
            await self.api.patch(ConfigMap, name, patch, namespace=namespace)

    async def record_owners(self, tenant: Tenant) -> None:
        """Keep the tenant's rows in ``tenant_owners`` in step with its owners."""
        if self.database is not None:
            async with self.database.transaction() as session:
                await owners.record_owners(
                    session,
                    str(tenant.metadata.uid),
                    tenant.metadata.name or "",
                    tenant.spec.owners,
                )

    async def cleanup(self, tenant: Tenant) -> None:
        """The finalizer's cleanup: what the garbage collector would leave behind — the
        tenant's rows in the project's own table, and its key in the shared registry."""
        if self.database is not None:
            async with self.database.transaction() as session:
                await owners.delete_owners(session, str(tenant.metadata.uid))
        await self.unregister(tenant)

    async def unregister(self, tenant: Tenant) -> None:
        """The finalizer's cleanup: remove the tenant's key (nothing to do if absent)."""
        namespace, name = REGISTRY
        try:
            registry = await self.api.get(ConfigMap, name, namespace)
        except errors.NotFound:
            return
        if tenant.metadata.name in (registry.data or {}):
            patch = {"data": {tenant.metadata.name: None}}
            await self.api.patch(ConfigMap, name, patch, namespace=namespace)


def ready_condition(
    tenant: Tenant, status: ConditionStatus, reason: str, message: str
) -> Condition:
    return Condition(
        type="Ready",
        status=status,
        reason=reason,
        message=message,
        observed_generation=tenant.metadata.generation,
        last_transition_time=datetime.now(UTC),
    )


def registry_entry(tenant: Tenant) -> str:
    """The registry's value for ``tenant``: its namespace and owners, as JSON."""
    return json.dumps(
        {"namespace": tenant.metadata.name, "owners": sorted(set(tenant.spec.owners))},
        sort_keys=True,
    )


def quota_mutation(tenant: Tenant) -> Callable[[ResourceQuota], None]:
    """Set the quota's hard limits, leaving values the server rewrote (4000m = 4) alone."""
    wanted = {"requests.cpu": tenant.spec.cpu, "requests.memory": tenant.spec.memory}

    def mutate(quota: ResourceQuota) -> None:
        hard = dict((quota.spec.hard if quota.spec else None) or {})
        for resource, value in wanted.items():
            current = hard.get(resource)
            if current is None or parse_quantity(current) != parse_quantity(value):
                hard[resource] = value
        quota.spec = ResourceQuotaSpec(hard=hard)

    return mutate


def role_ref() -> RoleRef:
    return RoleRef(apiGroup="rbac.authorization.k8s.io", kind="ClusterRole", name=OWNER_ROLE)


def binding_mutation(tenant: Tenant) -> Callable[[RoleBinding], None]:
    """Bind the owners to the edit role (a roleRef cannot change, so it is only read)."""
    subjects = [
        Subject(apiGroup="rbac.authorization.k8s.io", kind="User", name=owner)
        for owner in sorted(set(tenant.spec.owners))
    ]

    def mutate(binding: RoleBinding) -> None:
        binding.subjects = subjects

    return mutate


def _keep(_: Any) -> None:
    """The Namespace needs nothing but its owner and label (create_or_update sets them)."""
