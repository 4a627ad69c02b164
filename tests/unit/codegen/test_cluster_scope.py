"""A model declared ``namespaced=False`` gets a cluster-scoped CRD and ClusterRoles, and
access to it is checked cluster-wide."""

from __future__ import annotations

from kubeweft.auth.attributes import Operation, attributes_for
from kubeweft.codegen.crd import crd_for
from kubeweft.codegen.rbac import user_roles
from kubeweft.examples.webapp.api.v1 import WebApp
from tests.support.models import Zone


def test_crd_scope_follows_the_model_info() -> None:
    assert crd_for(Zone)["spec"]["scope"] == "Cluster"
    assert crd_for(WebApp)["spec"]["scope"] == "Namespaced"


def test_user_roles_of_a_cluster_scoped_model_are_cluster_roles() -> None:
    roles = user_roles(Zone)
    assert roles
    assert {role["kind"] for role in roles} == {"ClusterRole"}
    assert all(any("zones" in rule["resources"] for rule in role["rules"]) for role in roles)


def test_access_to_a_cluster_scoped_model_is_checked_without_a_namespace() -> None:
    zone = attributes_for(Zone.model_info, Operation.GET, namespace="team-a", name="z")
    assert zone.namespace is None
    assert zone.name == "z"
    web = attributes_for(WebApp.model_info, Operation.GET, namespace="team-a", name="w")
    assert web.namespace == "team-a"
