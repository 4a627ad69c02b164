"""What the Tenant reconciler wants of its objects, without a cluster."""

from __future__ import annotations

import json

import pytest
from lightkube.models.core_v1 import ResourceQuotaSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ResourceQuota
from lightkube.resources.rbac_authorization_v1 import RoleBinding
from pydantic import ValidationError

from tenant.api.v1alpha1 import Tenant
from tenant.controllers.tenant import (
    binding_mutation,
    quota_mutation,
    registry_entry,
    role_ref,
)


def tenant(**spec: object) -> Tenant:
    body = {"owners": ["bob", "alice", "bob"], "cpu": "4", "memory": "8Gi", **spec}
    return Tenant.model_validate({"metadata": {"name": "team-a"}, "spec": body})


def quota(hard: dict[str, str] | None = None) -> ResourceQuota:
    spec = ResourceQuotaSpec(hard=hard) if hard is not None else None
    return ResourceQuota(metadata=ObjectMeta(name="tenant-quota", namespace="team-a"), spec=spec)


def test_a_new_quota_gets_both_limits() -> None:
    fresh = quota()
    quota_mutation(tenant())(fresh)
    assert fresh.spec is not None
    assert fresh.spec.hard == {"requests.cpu": "4", "requests.memory": "8Gi"}


def test_values_the_server_rewrote_are_left_alone_and_changes_are_set() -> None:
    live = quota({"requests.cpu": "4000m", "requests.memory": "8Gi", "pods": "10"})
    quota_mutation(tenant(memory="16Gi"))(live)
    assert live.spec is not None
    assert live.spec.hard == {"requests.cpu": "4000m", "requests.memory": "16Gi", "pods": "10"}


def test_the_owners_are_bound_once_each_as_users() -> None:
    binding = RoleBinding(metadata=ObjectMeta(name="tenant-owners"), roleRef=role_ref())
    binding_mutation(tenant())(binding)
    assert [(s.kind, s.name) for s in binding.subjects or []] == [
        ("User", "alice"),
        ("User", "bob"),
    ]
    assert (binding.roleRef.kind, binding.roleRef.name) == ("ClusterRole", "edit")


def test_the_registry_entry_names_the_namespace_and_owners() -> None:
    assert json.loads(registry_entry(tenant())) == {
        "namespace": "team-a",
        "owners": ["alice", "bob"],
    }


def test_the_model_is_cluster_scoped_and_validates_quantities() -> None:
    assert Tenant.model_info.namespaced is False
    with pytest.raises(ValidationError, match="cpu"):
        tenant(cpu="four")
    with pytest.raises(ValidationError, match="owners"):
        tenant(owners=[])
