"""RBAC generation: exactly the verbs the process uses, nothing more."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer.testing import CliRunner

from kubeweft.api import PolicyRule
from kubeweft.codegen import manager_role, rbac_for, user_roles
from kubeweft.codegen.cli import manifests_command
from kubeweft.examples.webapp.api.v1 import WebApp
from tests.support.models import CronTab

Grant = tuple[str, str, str]


def grants(role: dict[str, Any]) -> set[Grant]:
    return {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def expand(group: str, resource: str, verbs: str) -> set[Grant]:
    return {(group, resource, verb) for verb in verbs.split()}


OWNED = "get list watch create update patch delete"
REVIEWS = expand("authentication.k8s.io", "tokenreviews", "create") | expand(
    "authorization.k8s.io", "subjectaccessreviews", "create"
)
PROCESS = (
    expand("", "events", "create patch list")
    | expand("events.k8s.io", "events", "create patch")
    | REVIEWS
)


def test_manager_role_for_webapp_is_exact() -> None:
    assert grants(manager_role([WebApp])) == (
        expand("kubeweft.dev", "webapps", "get list watch update patch create delete")
        | expand("kubeweft.dev", "webapps/status", "get update patch")
        | expand("kubeweft.dev", "webapps/finalizers", "update")
        | expand("apps", "deployments", OWNED)
        | expand("", "services", OWNED)
        | PROCESS
    )


def test_a_controller_only_deployment_is_not_granted_token_or_access_reviews() -> None:
    with_api = grants(manager_role([WebApp]))
    controller_only = grants(manager_role([WebApp], api=False))
    assert with_api - controller_only == REVIEWS
    assert controller_only - with_api == set()
    documents = rbac_for([WebApp], api=False)
    role = next(d for d in documents if d["metadata"]["name"] == "manager-role")
    assert grants(role) == controller_only


def test_manager_role_never_touches_secrets_or_wildcards() -> None:
    role = grants(manager_role([WebApp, CronTab]))
    assert not {g for g in role if g[1] in ("secrets", "configmaps", "pods", "*")}
    assert not {g for g in role if g[2] in ("*", "escalate", "bind", "deletecollection")}
    assert not {g for g in role if g[2] == "impersonate"}
    assert not {g for g in role if g[1].endswith("/annotations")}


def test_a_second_model_adds_its_own_rules() -> None:
    both = grants(manager_role([WebApp, CronTab]))
    only_webapp = grants(manager_role([WebApp]))
    assert both - only_webapp == (
        expand("test.kubeweft.dev", "crontabs", "get list watch update patch create delete")
        | expand("test.kubeweft.dev", "crontabs/status", "get update patch")
        | expand("test.kubeweft.dev", "crontabs/finalizers", "update")
        | expand("batch", "jobs", OWNED)
    )


def test_rules_are_compact_and_sorted() -> None:
    rules = manager_role([WebApp])["rules"]
    keys = [(rule["apiGroups"], rule["verbs"]) for rule in rules]
    assert len(keys) == len({(tuple(g), tuple(v)) for g, v in keys})
    assert all(rule["verbs"] == sorted(rule["verbs"]) for rule in rules)
    services = next(r for r in rules if r["apiGroups"] == [""] and "services" in r["resources"])
    assert services["resources"] == ["services"]


def test_user_roles_aggregate_and_cover_annotations() -> None:
    admin, editor, viewer = user_roles(WebApp)
    assert admin["metadata"] == {
        "name": "webapp-admin-role",
        "labels": {"rbac.authorization.k8s.io/aggregate-to-admin": "true"},
    }
    assert editor["metadata"]["labels"] == {"rbac.authorization.k8s.io/aggregate-to-edit": "true"}
    assert viewer["metadata"]["labels"] == {"rbac.authorization.k8s.io/aggregate-to-view": "true"}
    # The read-only REST views (history, metrics, events, annotation list) are checked
    # as plain ``get webapps``: no made-up view subresources are granted.
    views = expand("kubeweft.dev", "webapps/status", "get")
    assert grants(viewer) == expand("kubeweft.dev", "webapps", "get list watch") | views
    assert grants(editor) == (
        grants(viewer)
        | expand("kubeweft.dev", "webapps", "create delete patch update")
        | expand("kubeweft.dev", "webapps/annotations", "create delete")
    )
    assert grants(admin) == (
        views
        | expand("kubeweft.dev", "webapps", "*")
        | expand("kubeweft.dev", "webapps/annotations", "*")
    )


def test_rbac_for_returns_the_whole_set_with_consistent_bindings() -> None:
    docs = rbac_for([WebApp])
    by_name = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    assert set(by_name) == {
        ("ServiceAccount", "controller-manager"),
        ("ClusterRole", "manager-role"),
        ("ClusterRoleBinding", "manager-rolebinding"),
        ("Role", "leader-election-role"),
        ("RoleBinding", "leader-election-rolebinding"),
        ("ClusterRole", "metrics-reader"),
        ("ClusterRole", "webapp-admin-role"),
        ("ClusterRole", "webapp-editor-role"),
        ("ClusterRole", "webapp-viewer-role"),
    }
    subject = {"kind": "ServiceAccount", "name": "controller-manager", "namespace": "system"}
    crb = by_name[("ClusterRoleBinding", "manager-rolebinding")]
    assert crb["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": "manager-role",
    }
    assert crb["subjects"] == [subject]
    rb = by_name[("RoleBinding", "leader-election-rolebinding")]
    assert rb["roleRef"]["kind"] == "Role"
    assert rb["subjects"] == [subject]
    assert grants(by_name[("Role", "leader-election-role")]) == expand(
        "coordination.k8s.io", "leases", OWNED
    ) | expand("", "events", "create patch")


def test_manifests_no_api_writes_a_role_without_reviews(tmp_path: Path) -> None:
    app = typer.Typer()
    app.command()(manifests_command)
    runner = CliRunner()
    for flag, directory in (("--api", tmp_path / "api"), ("--no-api", tmp_path / "controller")):
        assert runner.invoke(app, ["--output", str(directory), flag]).exit_code == 0
    with_api = yaml.safe_load((tmp_path / "api" / "rbac" / "role.yaml").read_text())
    controller_only = yaml.safe_load((tmp_path / "controller" / "rbac" / "role.yaml").read_text())
    assert grants(with_api) - grants(controller_only) == REVIEWS
    assert grants(controller_only) - grants(with_api) == set()


class Registry(CronTab):
    """A model whose controller writes one shared ConfigMap and binds the edit role."""

    model_info = dataclasses.replace(
        CronTab.model_info,
        kind="Registry",
        plural="registries",
        singular="registry",
        rbac=(
            PolicyRule(api_groups=("",), resources=("configmaps",), verbs=("create",)),
            PolicyRule(("",), ("configmaps",), ("get", "patch"), resource_names=("tenants",)),
            PolicyRule(("rbac.authorization.k8s.io",), ("clusterroles",), ("bind",), ("edit",)),
        ),
    )


def test_declared_rules_are_granted_with_their_resource_names() -> None:
    role = manager_role([Registry])
    assert ("", "configmaps", "create") in grants(role)
    named = [rule for rule in role["rules"] if "resourceNames" in rule]
    assert named == [
        {
            "apiGroups": [""],
            "resources": ["configmaps"],
            "resourceNames": ["tenants"],
            "verbs": ["get", "patch"],
        },
        {
            "apiGroups": ["rbac.authorization.k8s.io"],
            "resources": ["clusterroles"],
            "resourceNames": ["edit"],
            "verbs": ["bind"],
        },
    ]
    # Unnamed, the ConfigMap grant would reach every ConfigMap: only create is unnamed.
    assert ("", "configmaps", "get") not in grants(
        {"rules": [r for r in role["rules"] if r not in named]}
    )


def test_a_named_rule_cannot_restrict_create() -> None:
    with pytest.raises(ValueError, match="resource_names cannot restrict"):
        PolicyRule(("",), ("configmaps",), ("create", "get"), resource_names=("tenants",))
